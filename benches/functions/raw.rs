//! A minimal blocking HTTP/1.1 client for cold starts and bursts: no
//! pooling, no runtime, the least client overhead between the bytes.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;

use crate::{APP, APP_HOST};

pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Status, location and the start of the body, for a panic message.
    pub fn describe(&self) -> String {
        format!(
            "{} location={:?} body={}",
            self.status,
            self.header("location"),
            String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
        )
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes `request` and reads one complete response (Content-Length,
/// chunked, or until the server closes).
pub fn exchange(stream: &mut TcpStream, request: &[u8]) -> std::io::Result<Raw> {
    stream.write_all(request)?;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16384];
    let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(eof());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: Option<usize> = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok());
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    loop {
        let body = &buf[head_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            if length.is_none() && !chunked {
                break;
            }
            return Err(eof());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Raw {
        status,
        headers,
        body: buf[head_end..].to_vec(),
    })
}

/// A request to the app (`Connection: close`); a POST names the app as its
/// `Origin`, as a browser does.
pub fn request(method: &str, path: &str, cookie: Option<&str>) -> Vec<u8> {
    let mut r = keep_alive(method, path, cookie);
    r.truncate(r.len() - 2);
    r.extend_from_slice(b"Connection: close\r\n\r\n");
    r
}

/// The same request on a connection kept open for the next one.
pub fn keep_alive(method: &str, path: &str, cookie: Option<&str>) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {APP_HOST}\r\nUser-Agent: bench\r\n");
    if let Some(cookie) = cookie {
        let _ = write!(r, "Cookie: {cookie}\r\n");
    }
    if method == "POST" {
        let _ = write!(r, "Origin: {APP}\r\nContent-Length: 0\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The headers Vercel's proxy hands a function with a browser's request
/// (the browser's own, then the proxy's `x-forwarded-*` and `x-vercel-*`),
/// values made up in their real shapes and lengths: what a deployed
/// function parses on every request, beyond the minimal request's.
const FORWARDED: &[(&str, &str)] = &[
    (
        "user-agent",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
         image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    ),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-US,en;q=0.9"),
    (
        "sec-ch-ua",
        "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
    ),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", "\"macOS\""),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "same-origin"),
    ("sec-fetch-user", "?1"),
    ("upgrade-insecure-requests", "1"),
    ("referer", "http://localhost:3000/"),
    ("x-forwarded-for", "203.0.113.7"),
    ("x-forwarded-host", APP_HOST),
    ("x-forwarded-proto", "http"),
    ("x-real-ip", "203.0.113.7"),
    ("x-vercel-deployment-url", "app-abc123def-team.vercel.app"),
    ("x-vercel-forwarded-for", "203.0.113.7"),
    (
        "x-vercel-id",
        "fra1::iad1::abcde-1733130000000-0123456789ab",
    ),
    ("x-vercel-ip-city", "Frankfurt"),
    ("x-vercel-ip-country", "DE"),
    ("x-vercel-ip-country-region", "HE"),
    ("x-vercel-ip-latitude", "50.1109"),
    ("x-vercel-ip-longitude", "8.6821"),
    ("x-vercel-ip-timezone", "Europe/Berlin"),
    ("x-vercel-proxied-for", "203.0.113.7"),
];

/// [`keep_alive`]'s request with the headers a deployed function gets
/// with it ([`FORWARDED`]).
pub fn forwarded(method: &str, path: &str, cookie: Option<&str>) -> Vec<u8> {
    let mut r = keep_alive(method, path, cookie);
    r.truncate(r.len() - 2);
    for (name, value) in FORWARDED {
        r.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r
}
