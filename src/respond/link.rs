//! Cutting a container off one network without detaching it: the host end of its veth pair is set
//! down, so no frame passes either way while the engine keeps the endpoint, its address and aliases.

use serde_json::Value;
use tokio::process::Command;

/// The host end of a container's link to one bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEnd {
    pub ifname: String,
    pub up: bool,
    /// The container's process, and the link's name inside its network namespace.
    pub pid: i64,
    pub inner: String,
}

async fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().await.map_err(|e| {
        format!("cannot run {program}: {e} (rampart needs util-linux and iproute2 on the engine's host)")
    })?;
    if !out.status.success() {
        return Err(format!(
            "{program} {} failed: {} — rampart must run as root on the engine's host",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn links(json: &str) -> Result<Vec<Value>, String> {
    match serde_json::from_str(json) {
        Ok(Value::Array(links)) => Ok(links),
        _ => Err("ip -j printed something that is not a list of links".into()),
    }
}

fn text<'a>(link: &'a Value, key: &str) -> Option<&'a str> {
    link.get(key).and_then(Value::as_str)
}

/// Finds the host end of the link of the container whose process is `pid`: the interface in its
/// network namespace with `mac` and `ip`, and its veth peer on the host, which must be a port of
/// `bridge` (anything else means the engine is not on this host or the container changed).
pub async fn host_end(pid: i64, mac: &str, ip: &str, bridge: &str) -> Result<HostEnd, String> {
    if pid <= 0 {
        return Err("the container has no process".into());
    }
    let inside = links(&run("nsenter", &["-t", &pid.to_string(), "-n", "ip", "-j", "addr", "show"]).await?)?;
    let (inner, peer) = inside
        .iter()
        .find(|l| {
            text(l, "address").is_some_and(|a| a.eq_ignore_ascii_case(mac))
                && l.get("addr_info")
                    .and_then(Value::as_array)
                    .is_some_and(|infos| infos.iter().any(|i| text(i, "local") == Some(ip)))
        })
        .and_then(|l| Some((text(l, "ifname")?.to_string(), l.get("link_index").and_then(Value::as_i64)?)))
        .ok_or_else(|| format!("no interface with {mac} and {ip} in the container's network namespace"))?;
    let host = links(&run("ip", &["-j", "link", "show", "master", bridge]).await?)?;
    host.iter()
        .find(|l| l.get("ifindex").and_then(Value::as_i64) == Some(peer))
        .and_then(|l| {
            let ifname = text(l, "ifname")?.to_string();
            let up = l.get("flags").and_then(Value::as_array).is_some_and(|f| f.iter().any(|f| f == "UP"));
            Some(HostEnd { ifname, up, pid, inner: inner.clone() })
        })
        .ok_or_else(|| format!("the container's link is not a port of bridge {bridge} on this host"))
}

/// Sets the host end of a link down: nothing passes either way, and the container cannot undo it.
pub async fn cut(end: &HostEnd) -> Result<(), String> {
    run("ip", &["link", "set", "dev", &end.ifname, "down"]).await.map(|_| ())
}

/// Sets the host end of a link up again, and makes the container forget the neighbours it failed
/// to reach while cut: otherwise its first connection to each of them fails at once with "host
/// unreachable" instead of resolving the neighbour afresh.
pub async fn let_through(end: &HostEnd) -> Result<(), String> {
    run("ip", &["link", "set", "dev", &end.ifname, "up"]).await?;
    let pid = end.pid.to_string();
    let flush = ["-t", &pid, "-n", "ip", "neigh", "flush", "dev", &end.inner, "nud", "failed", "nud", "incomplete"];
    run("nsenter", &flush).await.map(|_| ())
}
