//! The two wire protocols: request encoding and incremental reply parsing.
//!
//! Only what the generator sends is understood: memcached's text protocol
//! (`get` of one key, `set`) and redis' RESP (`GET`, `SET`).  A reply is
//! parsed from the start of whatever bytes of it have arrived; the parser
//! answers [`Parse::Incomplete`] until all of it is there, so a reply split
//! across reads, or several replies in one read, need nothing more of the
//! caller than keeping the unparsed bytes.

/// Which server the generator talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    /// memcached's text protocol.
    Memcached,
    /// redis' RESP.
    Redis,
}

impl Proto {
    /// The name the command line and the report use.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Memcached => "memcached",
            Proto::Redis => "redis",
        }
    }
}

/// What a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Get,
    Set,
}

/// What a well-formed reply said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A get found the key.
    Hit,
    /// A get did not find the key.
    Miss,
    /// A set was stored.
    Stored,
    /// The server answered with an error (`-ERR ...`, `ERROR`,
    /// `SERVER_ERROR ...`, `CLIENT_ERROR ...`, or a set not stored).
    Error,
}

/// The outcome of parsing the bytes received so far for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parse {
    /// The reply has not fully arrived: keep the bytes, read more.
    Incomplete,
    /// A reply of this many bytes, followed by whatever comes next.
    Done(usize, Reply),
    /// Not a reply to the request: the connection cannot be trusted any more.
    Malformed(&'static str),
}

/// The longest header line a reply may have before it counts as malformed.
const MAX_LINE: usize = 4096;

/// The largest value a reply may announce (memcached and redis both stop at
/// 512 MiB or less).
const MAX_VALUE: usize = 512 << 20;

/// Appends `n` in decimal.
fn push_dec(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The length of `key:<n>`.
fn key_len(key: u32) -> usize {
    let mut digits = 1;
    let mut n = key;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    4 + digits
}

/// Appends `key:<n>`.
fn push_key(out: &mut Vec<u8>, key: u32) {
    out.extend_from_slice(b"key:");
    push_dec(out, u64::from(key));
}

/// Appends the request for `op` on key `key:<key>` (`value` is the data of a
/// set, ignored for a get).
pub fn encode(proto: Proto, op: Op, key: u32, value: &[u8], out: &mut Vec<u8>) {
    match (proto, op) {
        (Proto::Memcached, Op::Get) => {
            out.extend_from_slice(b"get ");
            push_key(out, key);
            out.extend_from_slice(b"\r\n");
        }
        (Proto::Memcached, Op::Set) => {
            out.extend_from_slice(b"set ");
            push_key(out, key);
            out.extend_from_slice(b" 0 0 ");
            push_dec(out, value.len() as u64);
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        (Proto::Redis, Op::Get) => {
            out.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$");
            push_dec(out, key_len(key) as u64);
            out.extend_from_slice(b"\r\n");
            push_key(out, key);
            out.extend_from_slice(b"\r\n");
        }
        (Proto::Redis, Op::Set) => {
            out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$");
            push_dec(out, key_len(key) as u64);
            out.extend_from_slice(b"\r\n");
            push_key(out, key);
            out.extend_from_slice(b"\r\n$");
            push_dec(out, value.len() as u64);
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Parses the reply to `op` on `key:<key>` at the start of `buf`.
pub fn parse(proto: Proto, op: Op, key: u32, buf: &[u8]) -> Parse {
    match proto {
        Proto::Memcached => parse_memcached(op, key, buf),
        Proto::Redis => parse_redis(op, buf),
    }
}

/// The first line of `buf`: `Ok(Some((line without CRLF, length with it)))`,
/// `Ok(None)` while its end has not arrived.
fn line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, &'static str> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(nl) if nl > 0 && buf[nl - 1] == b'\r' => Ok(Some((&buf[..nl - 1], nl + 1))),
        Some(_) => Err("line not ended by CRLF"),
        None if buf.len() > MAX_LINE => Err("reply line too long"),
        None => Ok(None),
    }
}

/// A decimal number of at most `MAX_VALUE`, nothing else.
fn dec(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = s
        .iter()
        .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0'));
    (n <= MAX_VALUE).then_some(n)
}

/// Whether `s` is `key:<key>`.
fn is_key(s: &[u8], key: u32) -> bool {
    s.len() == key_len(key)
        && s.strip_prefix(b"key:").is_some_and(|d| {
            d.iter().all(u8::is_ascii_digit)
                && d.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0')) == u64::from(key)
        })
}

/// A memcached error line, whatever the request.
fn memcached_error(line: &[u8]) -> bool {
    line == b"ERROR" || line.starts_with(b"SERVER_ERROR") || line.starts_with(b"CLIENT_ERROR")
}

fn parse_memcached(op: Op, key: u32, buf: &[u8]) -> Parse {
    let (line, hdr) = match line(buf) {
        Ok(Some(l)) => l,
        Ok(None) => return Parse::Incomplete,
        Err(why) => return Parse::Malformed(why),
    };
    if memcached_error(line) {
        return Parse::Done(hdr, Reply::Error);
    }
    match op {
        Op::Set => match line {
            b"STORED" => Parse::Done(hdr, Reply::Stored),
            b"NOT_STORED" | b"EXISTS" | b"NOT_FOUND" => Parse::Done(hdr, Reply::Error),
            _ => Parse::Malformed("unexpected reply to set"),
        },
        Op::Get if line == b"END" => Parse::Done(hdr, Reply::Miss),
        Op::Get => {
            // VALUE <key> <flags> <bytes> [<cas unique>]
            let mut words = line.split(|&b| b == b' ');
            if words.next() != Some(b"VALUE") {
                return Parse::Malformed("unexpected reply to get");
            }
            if !words.next().is_some_and(|k| is_key(k, key)) {
                return Parse::Malformed("VALUE for another key");
            }
            if words.next().and_then(dec).is_none() {
                return Parse::Malformed("bad flags in VALUE line");
            }
            let Some(len) = words.next().and_then(dec) else {
                return Parse::Malformed("bad length in VALUE line");
            };
            let data_end = hdr + len;
            let total = data_end + b"\r\nEND\r\n".len();
            if buf.len() < total {
                // Check what has arrived of the trailer, to fail early.
                let have = &buf[data_end.min(buf.len())..];
                if !b"\r\nEND\r\n".starts_with(have) {
                    return Parse::Malformed("data not followed by END");
                }
                return Parse::Incomplete;
            }
            if &buf[data_end..total] != b"\r\nEND\r\n" {
                return Parse::Malformed("data not followed by END");
            }
            Parse::Done(total, Reply::Hit)
        }
    }
}

fn parse_redis(op: Op, buf: &[u8]) -> Parse {
    let (line, hdr) = match line(buf) {
        Ok(Some(l)) => l,
        Ok(None) => return Parse::Incomplete,
        Err(why) => return Parse::Malformed(why),
    };
    match (line.first(), op) {
        (Some(b'-'), _) => Parse::Done(hdr, Reply::Error),
        (Some(b'+'), Op::Set) if line == b"+OK" => Parse::Done(hdr, Reply::Stored),
        // A SET that was not performed (only with NX/XX, never sent here).
        (Some(b'$'), Op::Set) if line == b"$-1" => Parse::Done(hdr, Reply::Error),
        (Some(b'$'), Op::Get) if line == b"$-1" => Parse::Done(hdr, Reply::Miss),
        // RESP3's null, should the server have been switched to it.
        (Some(b'_'), Op::Get) if line == b"_" => Parse::Done(hdr, Reply::Miss),
        (Some(b'$'), Op::Get) => {
            let Some(len) = dec(&line[1..]) else {
                return Parse::Malformed("bad bulk string length");
            };
            let total = hdr + len + 2;
            if buf.len() < total {
                if buf.len() == total - 1 && buf[total - 2] != b'\r' {
                    return Parse::Malformed("bulk string not followed by CRLF");
                }
                return Parse::Incomplete;
            }
            if &buf[total - 2..total] != b"\r\n" {
                return Parse::Malformed("bulk string not followed by CRLF");
            }
            Parse::Done(total, Reply::Hit)
        }
        (_, Op::Get) => Parse::Malformed("unexpected reply to GET"),
        (_, Op::Set) => Parse::Malformed("unexpected reply to SET"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(proto: Proto, op: Op, key: u32, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(proto, op, key, value, &mut out);
        out
    }

    #[test]
    fn encodes_memcached() {
        assert_eq!(enc(Proto::Memcached, Op::Get, 0, b""), b"get key:0\r\n");
        assert_eq!(
            enc(Proto::Memcached, Op::Get, 4294967295, b""),
            b"get key:4294967295\r\n"
        );
        assert_eq!(
            enc(Proto::Memcached, Op::Set, 17, b"abc"),
            b"set key:17 0 0 3\r\nabc\r\n"
        );
        assert_eq!(
            enc(Proto::Memcached, Op::Set, 5, b""),
            b"set key:5 0 0 0\r\n\r\n"
        );
    }

    #[test]
    fn encodes_redis() {
        assert_eq!(
            enc(Proto::Redis, Op::Get, 7, b""),
            b"*2\r\n$3\r\nGET\r\n$5\r\nkey:7\r\n"
        );
        assert_eq!(
            enc(Proto::Redis, Op::Get, 123456, b""),
            b"*2\r\n$3\r\nGET\r\n$10\r\nkey:123456\r\n"
        );
        assert_eq!(
            enc(Proto::Redis, Op::Set, 42, b"hello"),
            b"*3\r\n$3\r\nSET\r\n$6\r\nkey:42\r\n$5\r\nhello\r\n"
        );
    }

    #[test]
    fn key_lengths() {
        for k in [0, 9, 10, 99, 100, 65535, 1_000_000, u32::MAX] {
            let mut out = Vec::new();
            push_key(&mut out, k);
            assert_eq!(out.len(), key_len(k), "key {k}");
            assert!(is_key(&out, k));
            assert!(!is_key(&out, k.wrapping_add(1)));
        }
        assert!(!is_key(b"key:07", 7));
        assert!(!is_key(b"key:", 0));
        assert!(!is_key(b"kez:7", 7));
    }

    /// One complete reply: parsed whole, then at every split, then with
    /// trailing bytes of a next reply.
    fn check(proto: Proto, op: Op, key: u32, reply: &[u8], want: Reply) {
        let shown = String::from_utf8_lossy(reply);
        assert_eq!(
            parse(proto, op, key, reply),
            Parse::Done(reply.len(), want),
            "{shown:?}"
        );
        for cut in 0..reply.len() {
            assert_eq!(
                parse(proto, op, key, &reply[..cut]),
                Parse::Incomplete,
                "{shown:?} cut at {cut}"
            );
        }
        let mut two = reply.to_vec();
        two.extend_from_slice(reply);
        two.extend_from_slice(&reply[..reply.len() / 2]);
        assert_eq!(parse(proto, op, key, &two), Parse::Done(reply.len(), want));
    }

    #[test]
    fn memcached_replies() {
        let m = Proto::Memcached;
        check(
            m,
            Op::Get,
            3,
            b"VALUE key:3 0 5\r\nhello\r\nEND\r\n",
            Reply::Hit,
        );
        check(
            m,
            Op::Get,
            3,
            b"VALUE key:3 12 0\r\n\r\nEND\r\n",
            Reply::Hit,
        );
        check(
            m,
            Op::Get,
            3,
            b"VALUE key:3 0 4 99\r\n\r\nEN\r\nEND\r\n",
            Reply::Hit,
        );
        check(m, Op::Get, 3, b"END\r\n", Reply::Miss);
        check(m, Op::Set, 3, b"STORED\r\n", Reply::Stored);
        check(m, Op::Set, 3, b"NOT_STORED\r\n", Reply::Error);
        check(m, Op::Get, 3, b"ERROR\r\n", Reply::Error);
        check(
            m,
            Op::Set,
            3,
            b"SERVER_ERROR out of memory\r\n",
            Reply::Error,
        );
        check(
            m,
            Op::Get,
            3,
            b"CLIENT_ERROR bad command line\r\n",
            Reply::Error,
        );
    }

    #[test]
    fn redis_replies() {
        let r = Proto::Redis;
        check(r, Op::Get, 3, b"$5\r\nhello\r\n", Reply::Hit);
        check(r, Op::Get, 3, b"$0\r\n\r\n", Reply::Hit);
        check(r, Op::Get, 3, b"$4\r\n\r\n\r\n\r\n", Reply::Hit);
        check(r, Op::Get, 3, b"$-1\r\n", Reply::Miss);
        check(r, Op::Get, 3, b"_\r\n", Reply::Miss);
        check(r, Op::Set, 3, b"+OK\r\n", Reply::Stored);
        check(r, Op::Get, 3, b"-ERR unknown command\r\n", Reply::Error);
        check(
            r,
            Op::Get,
            3,
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            Reply::Error,
        );
        check(r, Op::Set, 3, b"-OOM command not allowed\r\n", Reply::Error);
    }

    /// A stream of replies, as a connection receives them, fed in chunks of
    /// every size and split at every offset: each reply comes out once, in
    /// order, with the right outcome.
    fn stream(proto: Proto, replies: &[(Op, &[u8], Reply)]) {
        let all: Vec<u8> = replies.iter().flat_map(|r| r.1.iter().copied()).collect();
        let run = |chunks: &mut dyn Iterator<Item = &[u8]>| {
            let mut buf = Vec::new();
            let mut got = Vec::new();
            for chunk in chunks {
                buf.extend_from_slice(chunk);
                while let Some(&(op, _, _)) = replies.get(got.len()) {
                    match parse(proto, op, 3, &buf) {
                        Parse::Incomplete => break,
                        Parse::Done(n, reply) => {
                            got.push(reply);
                            buf.drain(..n);
                        }
                        Parse::Malformed(why) => panic!("malformed: {why}"),
                    }
                }
            }
            assert!(buf.is_empty());
            got
        };
        let want: Vec<Reply> = replies.iter().map(|r| r.2).collect();
        for cut in 0..=all.len() {
            let (a, b) = all.split_at(cut);
            assert_eq!(run(&mut [a, b].into_iter()), want, "split at {cut}");
        }
        for size in 1..=all.len() {
            assert_eq!(run(&mut all.chunks(size)), want, "chunks of {size}");
        }
    }

    #[test]
    fn memcached_stream() {
        stream(
            Proto::Memcached,
            &[
                (Op::Get, b"VALUE key:3 0 5\r\nhello\r\nEND\r\n", Reply::Hit),
                (Op::Set, b"STORED\r\n", Reply::Stored),
                (Op::Get, b"END\r\n", Reply::Miss),
                (Op::Get, b"SERVER_ERROR busy\r\n", Reply::Error),
                (Op::Get, b"VALUE key:3 7 2\r\n\r\n\r\nEND\r\n", Reply::Hit),
            ],
        );
    }

    #[test]
    fn redis_stream() {
        stream(
            Proto::Redis,
            &[
                (Op::Get, b"$5\r\nhello\r\n", Reply::Hit),
                (Op::Set, b"+OK\r\n", Reply::Stored),
                (Op::Get, b"$-1\r\n", Reply::Miss),
                (Op::Get, b"-ERR busy\r\n", Reply::Error),
                (Op::Get, b"$2\r\n\r\n\r\n", Reply::Hit),
            ],
        );
    }

    fn malformed(proto: Proto, op: Op, reply: &[u8]) {
        assert!(
            matches!(parse(proto, op, 3, reply), Parse::Malformed(_)),
            "{:?} -> {:?}",
            String::from_utf8_lossy(reply),
            parse(proto, op, 3, reply)
        );
    }

    #[test]
    fn malformed_memcached() {
        let m = Proto::Memcached;
        malformed(m, Op::Get, b"STORED\r\n");
        malformed(m, Op::Set, b"END\r\n");
        malformed(m, Op::Get, b"HELLO\r\n");
        malformed(m, Op::Get, b"END\n");
        malformed(m, Op::Get, b"VALUE key:4 0 5\r\nhello\r\nEND\r\n");
        malformed(m, Op::Get, b"VALUE key:3 0 x\r\nhello\r\nEND\r\n");
        malformed(m, Op::Get, b"VALUE key:3 0\r\n");
        malformed(m, Op::Get, b"VALUE key:3 x 5\r\nhello\r\nEND\r\n");
        malformed(m, Op::Get, b"VALUE key:3 0 5\r\nhelloXX");
        malformed(m, Op::Get, b"VALUE key:3 0 5\r\nhello\r\nEXD");
        malformed(m, Op::Get, b"VALUE key:3 0 5\r\nhello\r\nSTORED\r\n");
        malformed(m, Op::Get, &[b'x'; MAX_LINE + 1]);
    }

    #[test]
    fn malformed_redis() {
        let r = Proto::Redis;
        malformed(r, Op::Get, b"+OK\r\n");
        malformed(r, Op::Set, b"$5\r\nhello\r\n");
        malformed(r, Op::Get, b":1\r\n");
        malformed(r, Op::Get, b"$-2\r\n");
        malformed(r, Op::Get, b"$x\r\n");
        malformed(r, Op::Get, b"$\r\n");
        malformed(r, Op::Get, b"$5\r\nhelloXX");
        malformed(r, Op::Get, b"$5\r\nhelloX");
        malformed(r, Op::Get, b"$5\n");
        malformed(r, Op::Get, b"$99999999999\r\n");
        malformed(r, Op::Get, &[b'$'; MAX_LINE + 1]);
    }
}
