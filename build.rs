//! How rampart's programs are linked (issue 21, the collector's memory): their relative
//! relocations packed (DT_RELR, glibc 2.36 and later, which refuses the program by name if it is
//! older), so the loader reads 30 KB of them at start instead of 2.2 MB that stayed resident in
//! every process all day.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
