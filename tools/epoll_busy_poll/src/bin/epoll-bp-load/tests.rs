//! The whole generator against tiny fake memcached and redis servers on
//! 127.0.0.1, each connection served by a thread.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::proto::Proto;
use crate::report::{max_us, quantile_us, Report};
use crate::run::{run, Config, Stats};

/// What the fake server does besides answering correctly.
#[derive(Clone, Copy, Debug)]
enum Quirk {
    /// Holds back the first request it reads `after` its start (and so
    /// every one behind it on that connection) for `delay`.
    DelayOnce { after: Duration, delay: Duration },
    /// Answers garbage to the first request it reads `after` its start.
    GarbageOnce { after: Duration },
    /// Answers every set with an error.
    RefuseSets,
}

enum Request {
    Get(Vec<u8>),
    Set(Vec<u8>, Vec<u8>),
}

/// The first line of `buf` without its CRLF, and its length with it.
fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let nl = buf.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[..nl], nl + 2))
}

fn number(s: &[u8]) -> usize {
    std::str::from_utf8(s).unwrap().parse().unwrap()
}

/// One request at the start of `buf`, and its length; `None` until all of
/// it has arrived.
fn request(proto: Proto, buf: &[u8]) -> Option<(usize, Request)> {
    match proto {
        Proto::Memcached => {
            let (l, n) = line(buf)?;
            let words: Vec<&[u8]> = l.split(|&b| b == b' ').collect();
            match words[0] {
                b"get" => Some((n, Request::Get(words[1].to_vec()))),
                b"set" => {
                    let len = number(words[4]);
                    let data = buf.get(n..n + len + 2)?;
                    assert_eq!(&data[len..], b"\r\n");
                    let req = Request::Set(words[1].to_vec(), data[..len].to_vec());
                    Some((n + len + 2, req))
                }
                w => panic!("fake memcached: unknown command {w:?}"),
            }
        }
        Proto::Redis => {
            let (l, mut pos) = line(buf)?;
            assert_eq!(l[0], b'*');
            let mut args = Vec::new();
            for _ in 0..number(&l[1..]) {
                let (l, n) = line(&buf[pos..])?;
                assert_eq!(l[0], b'$');
                let len = number(&l[1..]);
                let data = buf.get(pos + n..pos + n + len + 2)?;
                args.push(data[..len].to_vec());
                pos += n + len + 2;
            }
            match (args[0].as_slice(), args.len()) {
                (b"GET", 2) => Some((pos, Request::Get(args[1].clone()))),
                (b"SET", 3) => Some((pos, Request::Set(args[1].clone(), args[2].clone()))),
                _ => panic!("fake redis: unknown command"),
            }
        }
    }
}

type Store = Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>;

fn answer(proto: Proto, req: Request, store: &Store, quirk: Quirk, out: &mut Vec<u8>) {
    let mut store = store.lock().unwrap();
    match (proto, req) {
        (Proto::Memcached, Request::Get(k)) => {
            if let Some(v) = store.get(&k) {
                out.extend_from_slice(b"VALUE ");
                out.extend_from_slice(&k);
                out.extend_from_slice(format!(" 0 {}\r\n", v.len()).as_bytes());
                out.extend_from_slice(v);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"END\r\n");
        }
        (Proto::Memcached, Request::Set(_, _)) if matches!(quirk, Quirk::RefuseSets) => {
            out.extend_from_slice(b"SERVER_ERROR out of memory storing object\r\n")
        }
        (Proto::Memcached, Request::Set(k, v)) => {
            store.insert(k, v);
            out.extend_from_slice(b"STORED\r\n");
        }
        (Proto::Redis, Request::Get(k)) => match store.get(&k) {
            Some(v) => {
                out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                out.extend_from_slice(v);
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(b"$-1\r\n"),
        },
        (Proto::Redis, Request::Set(_, _)) if matches!(quirk, Quirk::RefuseSets) => {
            out.extend_from_slice(b"-OOM command not allowed when used memory > 'maxmemory'\r\n")
        }
        (Proto::Redis, Request::Set(k, v)) => {
            store.insert(k, v);
            out.extend_from_slice(b"+OK\r\n");
        }
    }
}

/// Whether the one-off quirk is due now; true once only.
struct Trigger {
    start: Instant,
    fired: AtomicBool,
}

impl Trigger {
    fn fire(&self, after: Duration) -> bool {
        self.start.elapsed() >= after && !self.fired.swap(true, Ordering::SeqCst)
    }
}

fn serve(mut s: TcpStream, proto: Proto, store: Store, quirk: Quirk, trigger: Arc<Trigger>) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 65536];
    let mut out = Vec::new();
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut pos = 0;
        while let Some((len, req)) = request(proto, &buf[pos..]) {
            pos += len;
            match quirk {
                Quirk::DelayOnce { after, delay } if trigger.fire(after) => {
                    if s.write_all(&out).is_err() {
                        return;
                    }
                    out.clear();
                    thread::sleep(delay);
                }
                Quirk::GarbageOnce { after } if trigger.fire(after) => {
                    out.extend_from_slice(b"GARBAGE\r\n");
                    continue;
                }
                _ => {}
            }
            answer(proto, req, &store, quirk, &mut out);
        }
        buf.drain(..pos);
        if s.write_all(&out).is_err() {
            return;
        }
        out.clear();
    }
}

/// Starts a fake server; it lives until the test process ends.
fn fake(proto: Proto, quirk: Quirk) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Store::default();
    let trigger = Arc::new(Trigger {
        start: Instant::now(),
        fired: AtomicBool::new(false),
    });
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            s.set_nodelay(true).unwrap();
            let (store, trigger) = (store.clone(), trigger.clone());
            thread::spawn(move || serve(s, proto, store, quirk, trigger));
        }
    });
    addr
}

fn config(proto: Proto, server: SocketAddr) -> Config {
    Config {
        proto,
        server,
        rate: 2000.0,
        duration: Duration::from_secs(1),
        warmup: Duration::from_millis(200),
        conns: 4,
        get_ratio: 0.9,
        keys: 100,
        value_size: 32,
        preload: true,
        cpu: None,
        poisson: false,
        seed: 1,
        drain_timeout: Duration::from_secs(1),
        spin: Duration::ZERO,
    }
}

/// How many latencies were at least `ms` milliseconds.
fn at_least_ms(s: &Stats, ms: u64) -> u64 {
    s.latency
        .iter_recorded()
        .filter(|v| v.value_iterated_to() >= ms * 1_000_000)
        .map(|v| v.count_at_value())
        .sum()
}

/// A clean run at 2000 req/s for 1 s, with one reply held back 20 ms: the
/// requests queued behind it on its connection show the delay too, as
/// latency counts from the schedule.
fn open_loop(proto: Proto, poisson: bool) {
    let delay = Duration::from_millis(20);
    let server = fake(
        proto,
        Quirk::DelayOnce {
            after: Duration::from_millis(700),
            delay,
        },
    );
    let cfg = Config {
        poisson,
        // The Poisson run also polls before its sends.
        spin: if poisson {
            Duration::from_micros(50)
        } else {
            Duration::ZERO
        },
        ..config(proto, server)
    };
    let s = run(&cfg).unwrap();
    let c = &s.counts;
    let r = Report::new(&cfg, &s);
    let text = r.human();
    if poisson {
        // Deterministic for the seed; close to 2000.
        assert!((1900..=2100).contains(&c.sent), "{text}");
    } else {
        assert_eq!(c.sent, 2000, "{text}");
    }
    assert_eq!(c.errors, 0, "{text}");
    assert_eq!(c.missing, 0, "{text}");
    assert_eq!(c.conns_closed, 0, "{text}");
    assert_eq!(c.completed, c.sent, "{text}");
    assert!(
        (r.achieved_rate_rps / 2000.0 - 1.0).abs() < 0.05,
        "achieved rate: {text}"
    );
    assert_eq!(c.gets + c.sets, c.sent);
    assert_eq!(c.hits, c.gets, "preloaded, every get hits: {text}");
    assert!(c.gets > 1700 && c.sets > 100, "{text}");
    assert!(c.warmup_sent > 300, "{text}");
    let ms = |v: Option<f64>| v.unwrap() / 1000.0;
    assert!(ms(max_us(&s.latency)) >= 20.0, "{text}");
    assert!(ms(quantile_us(&s.latency, 0.999)) >= 10.0, "{text}");
    // At 500 req/s per connection, 10 requests arrive in 20 ms.
    assert!(at_least_ms(&s, 5) >= 5, "{text}");
    assert!(ms(quantile_us(&s.latency, 0.5)) < 5.0, "{text}");
}

#[test]
fn memcached_open_loop() {
    open_loop(Proto::Memcached, false);
}

#[test]
fn redis_open_loop() {
    open_loop(Proto::Redis, false);
}

#[test]
fn redis_open_loop_poisson() {
    open_loop(Proto::Redis, true);
}

/// A garbage reply closes its connection, counts as an error, and leaves
/// what was outstanding behind it missing; the other connections go on.
fn garbage(proto: Proto) {
    let server = fake(
        proto,
        Quirk::GarbageOnce {
            after: Duration::from_millis(300),
        },
    );
    let cfg = Config {
        rate: 1000.0,
        duration: Duration::from_millis(500),
        warmup: Duration::ZERO,
        conns: 2,
        preload: false,
        drain_timeout: Duration::from_millis(300),
        ..config(proto, server)
    };
    let s = run(&cfg).unwrap();
    let c = &s.counts;
    let text = Report::new(&cfg, &s).human();
    assert_eq!(c.sent, 500, "{text}");
    assert_eq!(c.malformed, 1, "{text}");
    assert_eq!(c.errors, 1, "{text}");
    assert_eq!(c.conns_closed, 1, "{text}");
    assert_eq!(c.completed + c.errors + c.missing, c.sent, "{text}");
    assert!(c.completed > 250, "{text}");
    assert!(s.all_closed_at.is_none());
    assert!(text.contains("malformed reply to"), "{text}");
    assert_eq!(c.hits + c.misses + c.sets, c.completed, "{text}");
}

#[test]
fn memcached_garbage() {
    garbage(Proto::Memcached);
}

#[test]
fn redis_garbage() {
    garbage(Proto::Redis);
}

/// Error replies are counted and keep the connection.
fn refused_sets(proto: Proto) {
    let server = fake(proto, Quirk::RefuseSets);
    let cfg = Config {
        rate: 1000.0,
        duration: Duration::from_millis(300),
        warmup: Duration::ZERO,
        get_ratio: 0.5,
        preload: false,
        ..config(proto, server)
    };
    let s = run(&cfg).unwrap();
    let c = &s.counts;
    let text = Report::new(&cfg, &s).human();
    assert_eq!(c.sent, 300, "{text}");
    assert_eq!(c.errors, c.sets, "{text}");
    assert_eq!(c.malformed, 0, "{text}");
    assert_eq!(c.conns_closed, 0, "{text}");
    assert_eq!(c.missing, 0, "{text}");
    assert_eq!(c.misses, c.gets, "nothing stored: {text}");
    assert_eq!(c.completed, c.gets, "{text}");
    assert!(c.sets > 100, "{text}");
    // And a preload that the server refuses stops before the run.
    let e = run(&Config {
        preload: true,
        ..cfg
    })
    .unwrap_err();
    assert!(e.contains("refused to store key:0"), "{e}");
}

#[test]
fn memcached_refused_sets() {
    refused_sets(Proto::Memcached);
}

#[test]
fn redis_refused_sets() {
    refused_sets(Proto::Redis);
}

#[test]
fn no_server_is_a_setup_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = run(&config(Proto::Memcached, addr)).unwrap_err();
    assert!(e.contains("cannot connect to memcached"), "{e}");
    assert!(e.contains("memcached -l 127.0.0.1"), "{e}");
}
