use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Number(f64),
    Word(String),
    Symbol(char),
}

/// Fixed-width histogram over unsigned samples.
pub struct Histogram {
    bucket_width: u32,
    counts: HashMap<u32, usize>,
}

impl Histogram {
    pub fn new(bucket_width: u32) -> Self {
        Histogram { bucket_width: bucket_width.max(1), counts: HashMap::new() }
    }

    pub fn record_all(&mut self, samples: &[u32]) -> usize {
        let mut recorded = 0;
        for &sample in samples {
            let bucket = sample / self.bucket_width;
            *self.counts.entry(bucket).or_insert(0) += 1;
            recorded += 1;
        }
        recorded
    }

    pub fn render(&self, max_bar: usize) -> Vec<String> {
        let mut keys: Vec<u32> = self.counts.keys().copied().collect();
        keys.sort_unstable();
        let peak = self.counts.values().copied().max().unwrap_or(1);
        let mut lines = Vec::with_capacity(keys.len());
        for key in keys {
            let count = self.counts[&key];
            let bar_len = count * max_bar / peak;
            let start = key * self.bucket_width;
            let end = start + self.bucket_width - 1;
            let bar: String = std::iter::repeat('#').take(bar_len).collect();
            lines.push(format!("{:>6}-{:<6} {}", start, end, bar));
        }
        lines
    }
}

/// Splits arithmetic-like input into numbers, words and single-char symbols.
pub fn tokenize(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < chars.len() {
        let ch = chars[pos];
        if ch.is_whitespace() {
            pos += 1;
        } else if ch.is_ascii_digit() {
            let start = pos;
            while pos < chars.len() && (chars[pos].is_ascii_digit() || chars[pos] == '.') {
                pos += 1;
            }
            let text: String = chars[start..pos].iter().collect();
            tokens.push(Token::Number(text.parse().unwrap_or(0.0)));
        } else if ch.is_alphabetic() {
            let start = pos;
            while pos < chars.len() && chars[pos].is_alphanumeric() {
                pos += 1;
            }
            tokens.push(Token::Word(chars[start..pos].iter().collect()));
        } else {
            tokens.push(Token::Symbol(ch));
            pos += 1;
        }
    }
    tokens
}

/// Luhn check over a digit string; whitespace is ignored, anything else fails.
pub fn luhn_valid(number: &str) -> bool {
    let mut total = 0u32;
    let mut digits_seen = 0;
    for (offset, ch) in number.chars().rev().filter(|c| !c.is_whitespace()).enumerate() {
        let digit = match ch.to_digit(10) {
            Some(d) => d,
            None => return false,
        };
        let contribution = if offset % 2 == 1 {
            let doubled = digit * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            digit
        };
        total += contribution;
        digits_seen += 1;
    }
    digits_seen > 1 && total % 10 == 0
}
