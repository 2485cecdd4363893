//! `commoncert explore`: stateright's Explorer, named by what it explores.
//!
//! stateright 0.31 names the model on the Explorer's page ("Model:") by its
//! Rust type (`std::any::type_name`, its module path cut off by the page's
//! script), which is `Readable` whatever the flags, and it has no hook to
//! change that. So the Explorer listens on a loopback port of its own, and a
//! small front on the address asked for passes every request through
//! unchanged, except that the status's `model` (which the page shows as
//! "Model:") and the page's title name the configuration by its exact
//! `commoncert check` flags.

use commoncert_model::explorer::Readable;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};
use tiny_http::{Response, Server};

/// How long a request waits for the Explorer behind the front to listen
/// (it starts in a thread of its own, next to the front).
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Serve the Explorer of `model` on `addr`, its page naming it `name`. Does
/// not return unless the front cannot listen (the reason).
pub fn serve(model: Readable, addr: SocketAddr, name: &str) -> Result<(), String> {
    let front = Server::http(addr).map_err(|e| format!("--addr {addr}: {e}"))?;
    let inner = TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no loopback port for the Explorer: {e}"))?;
    eprintln!("serving stateright Explorer for `{name}` on http://{addr}");
    std::thread::spawn(move || {
        use stateright::Model;
        model.checker().serve(inner);
    });
    for rq in front.incoming_requests() {
        let method = rq.method().to_string();
        let url = rq.url().to_string();
        let response = match forward(inner, &method, &url) {
            Ok((code, body)) => {
                Response::from_data(rename(&url, body, name)).with_status_code(code)
            }
            Err(e) => Response::from_string(format!("the Explorer did not answer: {e}"))
                .with_status_code(502),
        };
        // A browser that went away is no reason to stop serving.
        let _ = rq.respond(response);
    }
    Ok(())
}

/// Ask the Explorer at `inner` for `url`: its status code and body. HTTP/1.0,
/// so the answer has a plain body and ends with the connection.
fn forward(inner: SocketAddr, method: &str, url: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let started = Instant::now();
    let mut s = loop {
        match TcpStream::connect(inner) {
            Ok(s) => break s,
            Err(e) if started.elapsed() > START_TIMEOUT => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    write!(s, "{method} {url} HTTP/1.0\r\nContent-Length: 0\r\n\r\n")?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    let bad = || std::io::Error::other("not an HTTP answer");
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let code = std::str::from_utf8(&answer[..head_end])
        .ok()
        .and_then(|h| h.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    Ok((code, answer.split_off(head_end + 4)))
}

/// `body`, the Explorer's answer to `url`, naming the model `name`: in the
/// status (`/.status`, the page's "Model:") and in the page's title.
fn rename(url: &str, body: Vec<u8>, name: &str) -> Vec<u8> {
    match url {
        "/.status" => match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(mut status) if status.get("model").is_some() => {
                status["model"] = name.into();
                serde_json::to_vec(&status).unwrap_or(body)
            }
            _ => body,
        },
        "/" => String::from_utf8(body)
            .map(|page| {
                page.replace(
                    "<title>Stateright Explorer</title>",
                    &format!(
                        "<title>{} - Stateright Explorer</title>",
                        commoncert_sim::report::escape(name)
                    ),
                )
                .into_bytes()
            })
            .unwrap_or_else(|e| e.into_bytes()),
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_and_the_title_name_the_flags() {
        let name = "check --services 2 --revocation push --actions 2";
        let status =
            br#"{"done":false,"model":"commoncert_model::explorer::Readable","state_count":3}"#;
        let renamed: serde_json::Value =
            serde_json::from_slice(&rename("/.status", status.to_vec(), name)).expect("JSON");
        assert_eq!(renamed["model"], name);
        assert_eq!(renamed["state_count"], 3);
        let page = b"<head><title>Stateright Explorer</title></head>".to_vec();
        assert_eq!(
            rename("/", page, name),
            format!("<head><title>{name} - Stateright Explorer</title></head>").into_bytes()
        );
        // Anything else passes through untouched.
        let states = br#"[{"model":"x"}]"#.to_vec();
        assert_eq!(rename("/.states", states.clone(), name), states);
        assert_eq!(rename("/.status", b"oops".to_vec(), name), b"oops");
    }
}
