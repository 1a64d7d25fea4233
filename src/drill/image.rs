//! The drill's attacker image, made here and never pulled: the host's static busybox in an
//! otherwise empty file system, imported into the engine as `rampart-drill-busybox:1`.

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures::StreamExt;

/// The image the attacker runs.
pub const IMAGE: &str = "rampart-drill-busybox:1";
/// Where a static busybox may lie on the host (Debian's busybox-static first).
const BUSYBOX: [&str; 3] = ["/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox"];
/// The applets the scenarios use.
const APPLETS: [&str; 5] = ["sh", "wget", "nc", "sleep", "cat"];

/// One ustar header block.
fn header(name: &str, mode: u32, size: usize, kind: u8, link: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, format!("{mode:07o}\0").as_bytes());
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 148, b"        ");
    h[156] = kind;
    put(&mut h, 157, link.as_bytes());
    put(&mut h, 257, b"ustar\x0000");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// The image's file system as a tar archive: busybox, its applets, /tmp.
pub fn rootfs(busybox: &[u8]) -> Vec<u8> {
    let mut tar = Vec::with_capacity(busybox.len() + 8192);
    tar.extend_from_slice(&header("bin/", 0o755, 0, b'5', ""));
    tar.extend_from_slice(&header("tmp/", 0o1777, 0, b'5', ""));
    tar.extend_from_slice(&header("bin/busybox", 0o755, busybox.len(), b'0', ""));
    tar.extend_from_slice(busybox);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    for applet in APPLETS {
        tar.extend_from_slice(&header(&format!("bin/{applet}"), 0o777, 0, b'2', "busybox"));
    }
    tar.resize(tar.len() + 1024, 0);
    tar
}

/// Makes sure the engine has [`IMAGE`]; says what is missing when it cannot be made.
pub async fn ensure(docker: &Docker) -> Result<(), String> {
    if docker.inspect_image(IMAGE).await.is_ok() {
        return Ok(());
    }
    let Some(busybox) = BUSYBOX.iter().find_map(|p| std::fs::read(p).ok()) else {
        return Err(format!(
            "no attacker image: {IMAGE} is not on the engine and no static busybox was found to make it \
             ({}) — install busybox-static (apt-get install busybox-static); rampart never pulls an image",
            BUSYBOX.join(", ")
        ));
    };
    let (repo, tag) = IMAGE.split_once(':').unwrap_or((IMAGE, "latest"));
    let options = CreateImageOptionsBuilder::default().from_src("-").repo(repo).tag(tag).build();
    let mut steps = docker.create_image(Some(options), Some(bollard::body_full(rootfs(&busybox).into())), None);
    while let Some(step) = steps.next().await {
        step.map_err(|e| format!("cannot make the attacker image {IMAGE}: {e}"))?;
    }
    Ok(())
}
