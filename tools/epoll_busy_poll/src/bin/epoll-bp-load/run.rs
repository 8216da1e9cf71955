//! The generator itself: connects, optionally preloads the keys, then sends
//! every request at its scheduled time on one thread, whatever happened to
//! the ones before it, and times each reply from that schedule.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use epoll_busy_poll::epoll_create;

use crate::proto::{encode, parse, Op, Parse, Proto, Reply};
use crate::sched::{Rng, Schedule};

/// What to run; the command line's options, checked.
#[derive(Clone, Debug)]
pub struct Config {
    pub proto: Proto,
    pub server: SocketAddr,
    /// Requests per second, above zero.
    pub rate: f64,
    /// The measured part of the run, after the warmup.
    pub duration: Duration,
    /// Sent but not recorded, before the measured part.
    pub warmup: Duration,
    /// Connections, at least one; requests go to them round robin.
    pub conns: usize,
    /// Fraction of requests that are gets, the rest are sets.
    pub get_ratio: f64,
    /// Keys `key:0` .. `key:<keys - 1>`, at least one.
    pub keys: u32,
    pub value_size: usize,
    /// Set every key (closed loop) before the run, so gets hit.
    pub preload: bool,
    /// Pin the calling thread to this CPU.
    pub cpu: Option<usize>,
    /// Exponential gaps between requests instead of a fixed one.
    pub poisson: bool,
    pub seed: u64,
    /// How long to wait for the replies still outstanding after the run.
    pub drain_timeout: Duration,
    /// Stop sleeping this long before a send is due and poll (epoll with a
    /// zero timeout) until it is: burns the CPU, but sends on time where
    /// timer wakeups are slow (virtual machines).
    pub spin: Duration,
}

/// What happened to the requests of a run, as the report shows them; only
/// the requests scheduled after the warmup are in it, except `warmup_sent`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    /// Requests sent (queued on a connection).
    pub sent: u64,
    /// Requests answered with a reply that is not an error.
    pub completed: u64,
    /// Error replies, and malformed ones.
    pub errors: u64,
    /// The malformed replies among `errors`; each closed its connection.
    pub malformed: u64,
    /// Requests never answered: still outstanding at the end of the drain
    /// timeout, or on a connection that closed.
    pub missing: u64,
    pub gets: u64,
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    /// Requests sent during the warmup, not counted anywhere else.
    pub warmup_sent: u64,
    /// Connections closed during the run (by the server, an error, or a
    /// malformed reply).
    pub conns_closed: u64,
}

/// What the run measured: its counts, and the latencies of the requests
/// scheduled after the warmup.
#[derive(Debug)]
pub struct Stats {
    pub counts: Counts,
    /// Why the first of them closed.
    pub first_close: Option<String>,
    /// Set when every connection had closed: nothing more was sent from
    /// then on.
    pub all_closed_at: Option<Duration>,
    /// From the scheduled send time to the reply having been read, in ns,
    /// for the completed requests.
    pub latency: Histogram<u64>,
    /// How late each request was queued after its scheduled time, in ns: the
    /// generator's own delay.
    pub send_lag: Histogram<u64>,
    /// Whether waits had nanosecond (`epoll_pwait2`) rather than millisecond
    /// resolution.
    pub ns_timeouts: bool,
}

/// Time allowed to connect, and for each preload reply.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Keys set per round trip while preloading.
const PRELOAD_BATCH: u32 = 256;

/// How much one read takes at most.
const READ_CHUNK: usize = 64 * 1024;

/// A request sent and not answered yet.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// Scheduled send time, ns from the start.
    sched: u64,
    key: u32,
    op: Op,
    /// Scheduled after the warmup.
    recorded: bool,
}

struct Conn {
    stream: TcpStream,
    open: bool,
    /// Bytes queued and not written yet.
    out: Vec<u8>,
    /// Whether EPOLLOUT is asked for (`out` did not fit in the socket).
    want_write: bool,
    /// Bytes received and not parsed yet.
    inbuf: Vec<u8>,
    /// Requests sent, oldest first: replies come back in this order.
    fifo: VecDeque<Pending>,
}

/// How to start the server `config` names, for the error messages.
fn server_hint(proto: Proto, server: SocketAddr) -> String {
    let (ip, port) = (server.ip(), server.port());
    match proto {
        Proto::Memcached => format!("memcached -l {ip} -p {port} -U 0 -u nobody"),
        Proto::Redis => {
            format!("redis-server --bind {ip} --port {port} --save '' --appendonly no")
        }
    }
}

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: cpu_set_t is plain bits; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE, checked above, so the bit is
    // inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the
    // calling thread.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets every key once, a batch per round trip, over a blocking stream.
fn preload(stream: &mut TcpStream, proto: Proto, keys: u32, value: &[u8]) -> Result<(), String> {
    let fail = |what: String| format!("preload of {keys} keys failed: {what}");
    stream
        .set_read_timeout(Some(SETUP_TIMEOUT))
        .map_err(|e| fail(format!("cannot set a read timeout: {e}")))?;
    let mut out = Vec::new();
    let mut inbuf = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut key = 0;
    while key < keys {
        let first = key;
        out.clear();
        while key < keys && key - first < PRELOAD_BATCH && out.len() < 1 << 20 {
            encode(proto, Op::Set, key, value, &mut out);
            key += 1;
        }
        stream
            .write_all(&out)
            .map_err(|e| fail(format!("sending: {e}")))?;
        let mut next = first;
        let mut pos = 0;
        while next < key {
            match parse(proto, Op::Set, next, &inbuf[pos..]) {
                Parse::Done(n, Reply::Stored) => {
                    pos += n;
                    next += 1;
                }
                Parse::Done(n, _) => {
                    let reply = String::from_utf8_lossy(&inbuf[pos..pos + n]);
                    return Err(fail(format!(
                        "the server refused to store key:{next}, answering {:?}; \
                         is it out of memory, or --value-size too large for it?",
                        reply.trim_end()
                    )));
                }
                Parse::Malformed(why) => {
                    return Err(fail(format!(
                        "malformed reply to setting key:{next} ({why}); \
                         is the server really {}?",
                        proto.name()
                    )))
                }
                Parse::Incomplete => {
                    inbuf.drain(..pos);
                    pos = 0;
                    match stream.read(&mut chunk) {
                        Ok(0) => return Err(fail("the server closed the connection".into())),
                        Ok(n) => inbuf.extend_from_slice(&chunk[..n]),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) =>
                        {
                            return Err(fail(format!(
                                "no reply to setting key:{next} within {} s",
                                SETUP_TIMEOUT.as_secs()
                            )))
                        }
                        Err(e) => return Err(fail(format!("receiving: {e}"))),
                    }
                }
            }
        }
        inbuf.drain(..pos);
    }
    Ok(())
}

/// The epoll instance the sockets are watched with.
struct Poller {
    epoll: OwnedFd,
    events: Vec<libc::epoll_event>,
    /// `epoll_pwait2` (Linux >= 5.11) is there: nanosecond timeouts.
    pwait2: bool,
}

impl Poller {
    fn new() -> io::Result<Poller> {
        Ok(Poller {
            epoll: epoll_create()?,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 64],
            pwait2: true,
        })
    }

    fn ctl(&self, op: libc::c_int, fd: &impl AsRawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the call's duration; the
        // kernel checks the descriptors.
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd.as_raw_fd(), &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout_ns` for events; how many are in `self.events`.
    fn wait(&mut self, timeout_ns: u64) -> io::Result<usize> {
        let max = self.events.len() as libc::c_int;
        if self.pwait2 {
            let ts = libc::timespec {
                tv_sec: (timeout_ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (timeout_ns % 1_000_000_000) as libc::c_long,
            };
            // SAFETY: `events` is writable for `max` entries, `ts` lives
            // across the call, and a null sigmask leaves the mask alone.
            let n = unsafe {
                libc::epoll_pwait2(
                    self.epoll.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    max,
                    &ts,
                    std::ptr::null(),
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => return Ok(0),
                Some(libc::ENOSYS) => self.pwait2 = false,
                _ => return Err(e),
            }
        }
        let ms = timeout_ns.div_ceil(1_000_000).min(i32::MAX as u64) as libc::c_int;
        // SAFETY: `events` is writable for `max` entries.
        let n =
            unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), self.events.as_mut_ptr(), max, ms) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINTR) {
            return Ok(0);
        }
        Err(e)
    }
}

/// The state of one run.
struct Load {
    proto: Proto,
    conns: Vec<Conn>,
    poller: Poller,
    stats: Stats,
    value: Vec<u8>,
    /// Next connection to send on.
    rr: usize,
    /// Open connections.
    open: usize,
    chunk: Vec<u8>,
}

impl Load {
    /// Queues the request scheduled at `sched` on the next open connection;
    /// false when none is open.
    fn queue(&mut self, p: Pending) -> bool {
        let n = self.conns.len();
        for _ in 0..n {
            let c = &mut self.conns[self.rr % n];
            self.rr = self.rr.wrapping_add(1);
            if !c.open {
                continue;
            }
            encode(self.proto, p.op, p.key, &self.value, &mut c.out);
            c.fifo.push_back(p);
            let s = &mut self.stats.counts;
            if p.recorded {
                s.sent += 1;
                match p.op {
                    Op::Get => s.gets += 1,
                    Op::Set => s.sets += 1,
                }
            } else {
                s.warmup_sent += 1;
            }
            return true;
        }
        false
    }

    /// Writes what connection `i` has queued, as far as the socket takes it.
    fn flush(&mut self, i: usize) {
        let c = &mut self.conns[i];
        let mut done = 0;
        while done < c.out.len() {
            match c.stream.write(&c.out[done..]) {
                Ok(0) => return self.close(i, "the socket took no bytes".into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.close(i, format!("sending: {e}")),
            }
        }
        c.out.drain(..done);
        let want = !c.out.is_empty();
        if want != c.want_write {
            let events = if want {
                (libc::EPOLLIN | libc::EPOLLOUT) as u32
            } else {
                libc::EPOLLIN as u32
            };
            match self
                .poller
                .ctl(libc::EPOLL_CTL_MOD, &c.stream, events, i as u64)
            {
                Ok(()) => c.want_write = want,
                Err(e) => self.close(i, format!("epoll_ctl: {e}")),
            }
        }
    }

    /// Reads what connection `i` has received and accounts for the replies
    /// it completes, at time `t0 + elapsed`.
    fn receive(&mut self, i: usize, t0: Instant) {
        loop {
            let n = match self.conns[i].stream.read(&mut self.chunk) {
                Ok(0) => return self.close(i, "the server closed the connection".into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.close(i, format!("receiving: {e}")),
            };
            let now = t0.elapsed().as_nanos() as u64;
            let c = &mut self.conns[i];
            c.inbuf.extend_from_slice(&self.chunk[..n]);
            let mut pos = 0;
            while pos < c.inbuf.len() {
                let Some(&p) = c.fifo.front() else {
                    self.stats.counts.malformed += 1;
                    self.stats.counts.errors += 1;
                    return self.close(i, "a reply came with no request outstanding".into());
                };
                match parse(self.proto, p.op, p.key, &c.inbuf[pos..]) {
                    Parse::Incomplete => break,
                    Parse::Done(len, reply) => {
                        pos += len;
                        c.fifo.pop_front();
                        if p.recorded {
                            account(&mut self.stats, reply, now.saturating_sub(p.sched));
                        }
                    }
                    Parse::Malformed(why) => {
                        c.fifo.pop_front();
                        if p.recorded {
                            self.stats.counts.malformed += 1;
                            self.stats.counts.errors += 1;
                        }
                        let what = match p.op {
                            Op::Get => "get",
                            Op::Set => "set",
                        };
                        let got = &c.inbuf[pos..c.inbuf.len().min(pos + 48)];
                        let got = String::from_utf8_lossy(got).into_owned();
                        let why = format!(
                            "malformed reply to {what} key:{} ({why}): {:?}; is the \
                                 server really {}?",
                            p.key,
                            got,
                            self.proto.name()
                        );
                        return self.close(i, why);
                    }
                }
            }
            c.inbuf.drain(..pos);
            if n < self.chunk.len() {
                return;
            }
        }
    }

    /// Closes connection `i`: what it had outstanding is missing.
    fn close(&mut self, i: usize, why: String) {
        let c = &mut self.conns[i];
        if !c.open {
            return;
        }
        c.open = false;
        self.open -= 1;
        // Closing would remove it too, but the stream stays in `conns`.
        let _ = self.poller.ctl(libc::EPOLL_CTL_DEL, &c.stream, 0, 0);
        let _ = c.stream.shutdown(std::net::Shutdown::Both);
        self.stats.counts.missing += c.fifo.iter().filter(|p| p.recorded).count() as u64;
        c.fifo.clear();
        c.out.clear();
        c.inbuf.clear();
        self.stats.counts.conns_closed += 1;
        self.stats
            .first_close
            .get_or_insert_with(|| format!("connection {i}: {why}"));
    }

    fn outstanding(&self) -> usize {
        self.conns.iter().map(|c| c.fifo.len()).sum()
    }
}

fn account(s: &mut Stats, reply: Reply, latency_ns: u64) {
    match reply {
        Reply::Error => {
            s.counts.errors += 1;
            return;
        }
        Reply::Hit => s.counts.hits += 1,
        Reply::Miss => s.counts.misses += 1,
        Reply::Stored => {}
    }
    s.counts.completed += 1;
    s.latency.saturating_record(latency_ns.max(1));
}

/// A histogram of nanoseconds with 3 significant digits that grows as
/// needed.
fn histogram() -> Histogram<u64> {
    let mut h =
        Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("constant, valid histogram bounds");
    h.auto(true);
    h
}

/// Connects, preloads if asked, runs the load and drains; `Err` with what
/// to do when it could not start.
pub fn run(cfg: &Config) -> Result<Stats, String> {
    if let Some(cpu) = cfg.cpu {
        pin(cpu).map_err(|e| {
            format!(
                "cannot pin to CPU {cpu}: {e}; pick a CPU this process may run on \
                 (`taskset -pc $$` lists them)"
            )
        })?;
    }
    // Wake up on time rather than up to 50 us late (the default slack).
    // SAFETY: PR_SET_TIMERSLACK takes an integer, no pointer.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };

    let mut conns = Vec::with_capacity(cfg.conns);
    for i in 0..cfg.conns {
        let stream = TcpStream::connect_timeout(&cfg.server, SETUP_TIMEOUT).map_err(|e| {
            format!(
                "cannot connect to {} {} (connection {i}): {e}; start it first \
                 (e.g. `{}`) or pass the right --server IP:PORT",
                cfg.proto.name(),
                cfg.server,
                server_hint(cfg.proto, cfg.server)
            )
        })?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("cannot set TCP_NODELAY: {e}"))?;
        conns.push(stream);
    }
    let value = vec![b'x'; cfg.value_size];
    if cfg.preload {
        preload(&mut conns[0], cfg.proto, cfg.keys, &value)?;
    }
    let poller = Poller::new().map_err(|e| format!("epoll_create: {e}"))?;
    for (i, stream) in conns.iter().enumerate() {
        stream
            .set_nonblocking(true)
            .map_err(|e| format!("cannot make the socket nonblocking: {e}"))?;
        poller
            .ctl(libc::EPOLL_CTL_ADD, stream, libc::EPOLLIN as u32, i as u64)
            .map_err(|e| format!("epoll_ctl: {e}"))?;
    }
    let mut load = Load {
        proto: cfg.proto,
        open: conns.len(),
        conns: conns
            .into_iter()
            .map(|stream| Conn {
                stream,
                open: true,
                out: Vec::new(),
                want_write: false,
                inbuf: Vec::new(),
                fifo: VecDeque::new(),
            })
            .collect(),
        poller,
        stats: Stats {
            counts: Counts::default(),
            first_close: None,
            all_closed_at: None,
            latency: histogram(),
            send_lag: histogram(),
            ns_timeouts: true,
        },
        value,
        rr: 0,
        chunk: vec![0u8; READ_CHUNK],
    };
    // Arrivals and requests come from separate streams, so --poisson does
    // not change which keys are asked for.
    let mut schedule = Schedule::new(cfg.rate, cfg.poisson, cfg.seed);
    let mut draw = Rng::new(cfg.seed ^ 0x6b65_7973_2d6f_7073);
    let warmup = cfg.warmup.as_nanos() as u64;
    let send_end = warmup + cfg.duration.as_nanos() as u64;
    let drain_end = send_end + cfg.drain_timeout.as_nanos() as u64;
    let spin = cfg.spin.as_nanos() as u64;

    let t0 = Instant::now();
    let mut next = schedule.next().filter(|&s| s < send_end);
    loop {
        let now = t0.elapsed().as_nanos() as u64;
        if next.is_some_and(|s| s <= now) {
            // Everything due goes now, however late: latency still counts
            // from the schedule.
            while let Some(sched) = next.filter(|&s| s <= now) {
                let recorded = sched >= warmup;
                let op = if draw.next_f64() < cfg.get_ratio {
                    Op::Get
                } else {
                    Op::Set
                };
                let key = draw.below(cfg.keys);
                if !load.queue(Pending {
                    sched,
                    key,
                    op,
                    recorded,
                }) {
                    break;
                }
                if recorded {
                    load.stats.send_lag.saturating_record((now - sched).max(1));
                }
                next = schedule.next().filter(|&s| s < send_end);
            }
            for i in 0..load.conns.len() {
                if load.conns[i].open && !load.conns[i].out.is_empty() {
                    load.flush(i);
                }
            }
        }
        if load.open == 0 {
            if next.is_some() {
                load.stats.all_closed_at = Some(t0.elapsed());
            }
            break;
        }
        let deadline = match next {
            Some(s) => s.saturating_sub(spin),
            None if load.outstanding() == 0 => break,
            None => drain_end,
        };
        let now = t0.elapsed().as_nanos() as u64;
        if next.is_none() && now >= drain_end {
            break;
        }
        let n = load
            .poller
            .wait(deadline.saturating_sub(now))
            .map_err(|e| format!("epoll_wait: {e}"))?;
        for k in 0..n {
            let ev = load.poller.events[k];
            let (events, i) = (ev.events, ev.u64 as usize);
            if !load.conns[i].open {
                continue;
            }
            if events & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0 {
                load.receive(i, t0);
            }
            if events & libc::EPOLLOUT as u32 != 0 && load.conns[i].open {
                load.flush(i);
            }
        }
    }
    for c in &load.conns {
        load.stats.counts.missing += c.fifo.iter().filter(|p| p.recorded).count() as u64;
    }
    load.stats.ns_timeouts = load.poller.pwait2;
    Ok(load.stats)
}
