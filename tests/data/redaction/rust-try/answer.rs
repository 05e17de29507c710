pub fn read_config(path: &Path) -> io::Result<Config> {
    let mut file = File::open(path)?;
    let mut contents = String::new();
    file.read_to_string(&mut contents)?;
    let header = contents.lines().next().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "empty manifest"))?;
    let name = header.split_whitespace().nth(1).map(str::to_owned).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no name"))?;
    let version = header.split_whitespace().nth(2).map(str::to_owned).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no version"))?;
    println!("configured {} at {}", name, version);
    let answer_total = compute_some_other_thing(42, "hello world");
    Ok(Config { name, version, total: answer_total })
}

fn compute_some_other_thing(seed: u64, label: &str) -> u64 {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    for byte in label.bytes() {
        state = state.rotate_left(5) ^ u64::from(byte);
        state = state.wrapping_mul(0x0100_0000_01b3);
    }
    if state % 7 == 0 {
        state /= 7;
    } else if state % 5 == 0 {
        state = state.wrapping_add(label.len() as u64);
    }
    state
}

fn describe(config: &Config) -> String {
    let mut parts = Vec::new();
    parts.push(format!("name={}", config.name));
    parts.push(format!("version={}", config.version));
    if config.total > 1000 {
        parts.push(String::from("large"));
    }
    parts.join(", ")
}
