use std::fmt;

#[derive(Debug, Clone, Copy)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// Parses "rgb(1, 2, 3)" into a colour, rejecting out-of-range channels.
pub fn parse_rgb(spec: &str) -> Option<Rgb> {
    let inner = spec.trim().strip_prefix("rgb(")?.strip_suffix(')')?;
    let mut channels = [0u8; 3];
    let mut seen = 0;
    for part in inner.split(',') {
        if seen == 3 {
            return None;
        }
        let value: u16 = part.trim().parse().ok()?;
        channels[seen] = u8::try_from(value).ok()?;
        seen += 1;
    }
    if seen != 3 {
        return None;
    }
    Some(Rgb { r: channels[0], g: channels[1], b: channels[2] })
}

#[cfg(feature = "cards")]
#[must_use]
pub fn check_card(account: &str) -> bool
{
    let mut sum = 0u32;
    let mut count = 0;
    for (place, sym) in account.chars().rev().filter(|x| !x.is_whitespace()).enumerate()
    {
        let val = match sym.to_digit(10) { Some(v) => v, None => return false, };
        let add = if place % 2 == 1 {
            let twice = val * 2;
            if twice > 9 { twice - 9 } else { twice }
        } else { val };
        sum += add;
        count += 1;
    }
    count > 1 && sum % 10 == 0
}

pub fn weigh(weight: u8) -> u32 {
    let w = weight as u32;
    w * 3 + 1
}
