//! How rampart's programs are linked (issue 21, the collector's memory): on x86-64 Linux with
//! glibc, their relative relocations packed (DT_RELR), so the loader reads 18 KB of them at start
//! instead of 2.2 MB that stayed resident in every process all day. Such a program needs glibc
//! 2.36 or later (an older one refuses it by name, `GLIBC_ABI_DT_RELR`); to build for an older
//! host, set `RAMPART_UNPACKED_RELOCS=1` when building.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RAMPART_UNPACKED_RELOCS");
    let var = |key: &str| std::env::var(key).unwrap_or_default();
    let target = (var("CARGO_CFG_TARGET_OS"), var("CARGO_CFG_TARGET_ENV"), var("CARGO_CFG_TARGET_ARCH"));
    let unpacked = !var("RAMPART_UNPACKED_RELOCS").is_empty() && var("RAMPART_UNPACKED_RELOCS") != "0";
    if target == ("linux".into(), "gnu".into(), "x86_64".into()) && !unpacked {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
