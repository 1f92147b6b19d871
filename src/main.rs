fn main() {
    println!("threeway {}", env!("CARGO_PKG_VERSION"));
}
