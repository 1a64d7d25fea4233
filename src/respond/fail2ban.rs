//! Banning and unbanning through the real Fail2Ban: `fail2ban-client -s SOCKET set JAIL banip|unbanip IP`,
//! then asking Fail2Ban whether it took effect. Errors come back in words; nothing is claimed that
//! Fail2Ban did not confirm.

use std::net::IpAddr;

use crate::config::Fail2banConfig;

/// Runs the client with `args` and returns its standard output, or what went wrong in words.
async fn client(config: &Fail2banConfig, args: &[&str]) -> Result<String, String> {
    let socket = config.socket.display().to_string();
    let output =
        tokio::process::Command::new(&config.client).arg("-s").arg(&socket).args(args).output().await.map_err(|e| {
            match e.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "{} is not installed (apt-get install fail2ban), or set [fail2ban] client",
                    config.client.display()
                ),
                _ => format!("cannot run {}: {e}", config.client.display()),
            }
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        return Ok(stdout);
    }
    let said = format!("{stdout} {stderr}");
    Err(if said.contains("Failed to access socket") || said.contains("Is fail2ban running") {
        format!("Fail2Ban is not running (no server at {socket}) — start it, or set [fail2ban] socket")
    } else if said.contains("Permission denied") {
        format!("permission denied on {socket} — run as root or as a member of the group that owns the socket")
    } else if let Some(at) = said.find("does not exist") {
        let start = said[..at].rfind("the jail").unwrap_or(0);
        format!("Fail2Ban says: {}", said[start..at + "does not exist".len()].trim())
    } else {
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").trim();
        format!("fail2ban-client failed ({}): {}", output.status, if last.is_empty() { stdout.as_str() } else { last })
    })
}

/// The jails Fail2Ban runs now.
pub async fn jails(config: &Fail2banConfig) -> Result<Vec<String>, String> {
    let status = client(config, &["status"]).await?;
    let list = status.lines().find_map(|l| l.split_once("Jail list:")).map(|(_, j)| j).unwrap_or("");
    Ok(list.split(',').map(|j| j.trim().to_string()).filter(|j| !j.is_empty()).collect())
}

/// Whether `ip` is banned in `jail` now, by Fail2Ban's own account. Addresses are compared as
/// addresses, not as text (`2001:DB8::0001` is `2001:db8::1`).
pub async fn is_banned(config: &Fail2banConfig, jail: &str, ip: &str) -> Result<bool, String> {
    let wanted = address(ip)?;
    let list = client(config, &["get", jail, "banip"]).await?;
    Ok(list
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(|b| b.parse::<IpAddr>().ok())
        .any(|b| b == wanted))
}

pub async fn ban(config: &Fail2banConfig, jail: &str, ip: &str) -> Result<String, String> {
    let ip = &address(ip)?.to_string();
    client(config, &["set", jail, "banip", ip]).await?;
    if is_banned(config, jail, ip).await? {
        Ok(format!("banned {ip} in {jail}"))
    } else {
        Err(format!("Fail2Ban accepted the ban of {ip} in {jail} but does not list it as banned"))
    }
}

pub async fn unban(config: &Fail2banConfig, jail: &str, ip: &str) -> Result<String, String> {
    let ip = &address(ip)?.to_string();
    client(config, &["set", jail, "unbanip", ip]).await?;
    if is_banned(config, jail, ip).await? {
        Err(format!("Fail2Ban still lists {ip} as banned in {jail}"))
    } else {
        Ok(format!("unbanned {ip} from {jail}"))
    }
}

/// Only an address is ever passed to the client (never an option or anything else), and always
/// in its canonical form, the one Fail2Ban answers with.
fn address(ip: &str) -> Result<IpAddr, String> {
    ip.trim().parse::<IpAddr>().map_err(|_| format!("'{ip}' is not an IP address"))
}

/// The jails Fail2Ban itself says hold `ip` now (only `jail`, when given).
pub async fn holding(config: &Fail2banConfig, ip: &str, jail: Option<&str>) -> Result<Vec<String>, String> {
    let jails = match jail {
        Some(j) => vec![j.to_string()],
        None => jails(config).await?,
    };
    let mut holding = Vec::new();
    for jail in jails {
        if is_banned(config, &jail, ip).await? {
            holding.push(jail);
        }
    }
    Ok(holding)
}
