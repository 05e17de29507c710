use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub struct Manifest {
    pub name: String,
    pub version: String,
    pub entries: Vec<String>,
}

pub fn load_manifest(path: &Path) -> io::Result<Manifest> {
    let mut file = File::open(path)?;
    let mut contents = String::new();
    file.read_to_string(&mut contents)?;
    let header = contents.lines().next().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "empty manifest"))?;
    let name = header.split_whitespace().nth(1).map(str::to_owned).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no name"))?;
    let version = header.split_whitespace().nth(2).map(str::to_owned).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no version"))?;
    let entries = contents.lines().skip(1).filter(|l| !l.trim().is_empty()).map(|l| l.trim().to_owned()).collect();
    Ok(Manifest { name, version, entries })
}
