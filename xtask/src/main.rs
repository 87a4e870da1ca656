fn main() { eprintln!("usage: cargo xtask <sim|tidy>"); std::process::exit(2); }
