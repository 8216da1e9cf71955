//! NAPI instances and their settings, through the generic netlink family
//! `netdev` (version 1) as mainline numbers it: `napi-get` (Linux >= 6.8)
//! reports a NAPI instance (its device, IRQ, thread) and, from Linux 6.13,
//! its settings; `napi-set` (Linux 6.13+, or this patch) changes them:
//! `defer-hard-irqs`, `gro-flush-timeout` and `irq-suspend-timeout` (all
//! three since 6.13).  `napi-set` is an admin operation:
//! `CAP_NET_ADMIN` in the initial user namespace.
//!
//! The messages go through the `neli` crate (family resolution, sequence
//! numbers, dumps, extended ACKs); what is decoded and formatted here is
//! plain functions on bytes and values, tested without a kernel.
//!
//! NAPI IDs are global numbers, but the family answers only for devices in
//! the network namespace of the netlink socket: [`Netdev::open_in`] opens
//! one in another namespace (that of a socket, [`socket_netns`]).

use std::cell::Cell;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use neli::consts::genl::{CtrlAttr, CtrlCmd};
use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::socket::NlFamily;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder, NoUserHeader};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;

/// The generic netlink family's name.
pub const FAMILY_NAME: &str = "netdev";

/// The family's protocol version (`NETDEV_FAMILY_VERSION`).
pub const FAMILY_VERSION: u8 = 1;

/// The largest `defer-hard-irqs` the kernel takes (its policy: `S32_MAX`).
pub const DEFER_HARD_IRQS_MAX: u32 = i32::MAX as u32;

/// `SO_INCOMING_NAPI_ID` (`<asm-generic/socket.h>`; Linux >= 4.12).
pub const SO_INCOMING_NAPI_ID: libc::c_int = 56;

/// `SIOCGSKNS` (`<linux/sockios.h>`; Linux >= 4.9): a socket's network
/// namespace, as a new descriptor.
pub const SIOCGSKNS: libc::c_ulong = 0x894C;

/// The netdev family's commands (`enum netdev_cmd`) that are used here.
#[neli::neli_enum(serialized_type = "u8")]
pub enum Command {
    /// `NETDEV_CMD_NAPI_GET`: do (by id) or dump (optionally by ifindex).
    NapiGet = 11,
    /// `NETDEV_CMD_NAPI_SET`: do, by id; admin-perm.
    NapiSet = 14,
}
impl neli::consts::genl::Cmd for Command {}

/// The attributes of the `napi` attribute set (`NETDEV_A_NAPI_*`).
#[neli::neli_enum(serialized_type = "u16")]
pub enum NapiAttr {
    /// u32: ifindex of the device the instance belongs to.
    Ifindex = 1,
    /// u32: the instance's ID.
    Id = 2,
    /// u32: its interrupt, if it has one.
    Irq = 3,
    /// u32: the PID of its kthread, if it is threaded.
    Pid = 4,
    /// u32 (at most `S32_MAX`): empty polls before IRQ deferral ends.
    DeferHardIrqs = 5,
    /// uint, nanoseconds: the watchdog timer's timeout.
    GroFlushTimeout = 6,
    /// uint, nanoseconds: how long IRQs stay suspended after a busy poll
    /// that found events.
    IrqSuspendTimeout = 7,
}
impl neli::consts::genl::NlAttrType for NapiAttr {}

/// One NAPI instance as `napi-get` reports it; `None` for an attribute the
/// kernel left out (no IRQ, not threaded, or a kernel older than the
/// setting).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Napi {
    /// Its ID.
    pub id: u32,
    /// The ifindex of its device.
    pub ifindex: Option<u32>,
    /// Its interrupt.
    pub irq: Option<u32>,
    /// The PID of its kthread (threaded NAPI), in the caller's PID namespace.
    pub pid: Option<u32>,
    /// `defer-hard-irqs` (Linux >= 6.13).
    pub defer_hard_irqs: Option<u32>,
    /// `gro-flush-timeout`, ns (Linux >= 6.13).
    pub gro_flush_timeout: Option<u64>,
    /// `irq-suspend-timeout`, ns (Linux >= 6.13).
    pub irq_suspend_timeout: Option<u64>,
}

/// What `napi-set` changes: each field given is sent, the others are left
/// as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NapiSettings {
    /// `defer-hard-irqs`, 0 to [`DEFER_HARD_IRQS_MAX`].
    pub defer_hard_irqs: Option<u32>,
    /// `gro-flush-timeout`, ns.
    pub gro_flush_timeout: Option<u64>,
    /// `irq-suspend-timeout`, ns.
    pub irq_suspend_timeout: Option<u64>,
}

impl NapiSettings {
    /// Whether no setting is given.
    pub fn is_empty(&self) -> bool {
        *self == NapiSettings::default()
    }
}

/// A netlink `uint` attribute's value: 4 or 8 bytes, native byte order (as
/// `nla_put_uint()` writes it); `None` for any other length.
pub fn decode_uint(payload: &[u8]) -> Option<u64> {
    match payload.len() {
        4 => Some(u64::from(u32::from_ne_bytes(payload.try_into().ok()?))),
        8 => Some(u64::from_ne_bytes(payload.try_into().ok()?)),
        _ => None,
    }
}

/// A `u32` attribute's value: exactly 4 bytes, native byte order.
pub fn decode_u32(payload: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(payload.try_into().ok()?))
}

/// The payload of a `uint` attribute with value `v`: 4 bytes if it fits
/// in them, else 8 (as `nla_put_uint()` does).
pub fn encode_uint(v: u64) -> Vec<u8> {
    match u32::try_from(v) {
        Ok(small) => small.to_ne_bytes().to_vec(),
        Err(_) => v.to_ne_bytes().to_vec(),
    }
}

/// Decodes one `napi-get` answer from its attributes, given as (type,
/// payload) pairs (the type without the nested / byte-order flags).
/// Attributes of unknown types are skipped, as newer kernels may add some;
/// a known one of the wrong length, or no ID, is an error.
pub fn decode_napi<'a>(attrs: impl IntoIterator<Item = (u16, &'a [u8])>) -> Result<Napi, String> {
    let mut n = Napi::default();
    let mut id = None;
    for (kind, payload) in attrs {
        let bad = |name: &str| {
            format!(
                "napi-get answer: attribute {name} ({kind}) has {} bytes",
                payload.len()
            )
        };
        let u32_of = |name: &str| decode_u32(payload).ok_or_else(|| bad(name));
        let uint_of = |name: &str| decode_uint(payload).ok_or_else(|| bad(name));
        match NapiAttr::from(kind) {
            NapiAttr::Ifindex => n.ifindex = Some(u32_of("ifindex")?),
            NapiAttr::Id => id = Some(u32_of("id")?),
            NapiAttr::Irq => n.irq = Some(u32_of("irq")?),
            NapiAttr::Pid => n.pid = Some(u32_of("pid")?),
            NapiAttr::DeferHardIrqs => n.defer_hard_irqs = Some(u32_of("defer-hard-irqs")?),
            NapiAttr::GroFlushTimeout => n.gro_flush_timeout = Some(uint_of("gro-flush-timeout")?),
            NapiAttr::IrqSuspendTimeout => {
                n.irq_suspend_timeout = Some(uint_of("irq-suspend-timeout")?)
            }
            NapiAttr::UnrecognizedConst(_) => {}
        }
    }
    n.id = id.ok_or("napi-get answer without an id attribute")?;
    Ok(n)
}

/// The attributes of a `napi-set` request for instance `id`, in the order
/// they are sent: the ID, then each setting given.
pub fn napi_set_attrs(id: u32, s: &NapiSettings) -> Vec<(NapiAttr, Vec<u8>)> {
    let mut attrs = vec![(NapiAttr::Id, id.to_ne_bytes().to_vec())];
    if let Some(v) = s.defer_hard_irqs {
        attrs.push((NapiAttr::DeferHardIrqs, v.to_ne_bytes().to_vec()));
    }
    if let Some(v) = s.gro_flush_timeout {
        attrs.push((NapiAttr::GroFlushTimeout, encode_uint(v)));
    }
    if let Some(v) = s.irq_suspend_timeout {
        attrs.push((NapiAttr::IrqSuspendTimeout, encode_uint(v)));
    }
    attrs
}

/// Formats an instance as one line:
/// `napi 8193: dev=eth0 ifindex=2 irq=35 pid=none defer_hard_irqs=0
/// gro_flush_timeout=0 irq_suspend_timeout=0`.  `dev` is the device's name
/// (`?` if unknown); `irq` and `pid` say `none` when the instance has no
/// IRQ or no thread; settings the kernel did not report are left out.
pub fn show_napi(n: &Napi, dev: Option<&str>) -> String {
    let or_none = |v: Option<u32>| v.map_or("none".to_string(), |v| v.to_string());
    let mut line = format!(
        "napi {}: dev={} ifindex={} irq={} pid={}",
        n.id,
        dev.unwrap_or("?"),
        n.ifindex.map_or("?".to_string(), |v| v.to_string()),
        or_none(n.irq),
        or_none(n.pid),
    );
    if let Some(v) = n.defer_hard_irqs {
        line += &format!(" defer_hard_irqs={v}");
    }
    if let Some(v) = n.gro_flush_timeout {
        line += &format!(" gro_flush_timeout={v}");
    }
    if let Some(v) = n.irq_suspend_timeout {
        line += &format!(" irq_suspend_timeout={v}");
    }
    line
}

/// The netdev operation a request makes, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Resolving the family's ID (`CTRL_CMD_GETFAMILY`).
    Resolve,
    /// `napi-get` of one ID.
    NapiGet(u32),
    /// `napi-get` dump, of one device or (`None`) of all.
    NapiDump(Option<u32>),
    /// `napi-set` of one ID.
    NapiSet(u32),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Resolve => "resolving the netdev netlink family",
            Op::NapiGet(_) | Op::NapiDump(_) => "napi-get",
            Op::NapiSet(_) => "napi-set",
        })
    }
}

/// What the kernel said in an extended ACK, where it said anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtAck {
    /// `NLMSGERR_ATTR_MSG`.
    pub msg: Option<String>,
    /// `NLMSGERR_ATTR_MISS_TYPE`: a required attribute that was missing.
    pub missing_attr: Option<u32>,
}

impl ExtAck {
    /// Reads the TLVs of an extended ACK, given as (type, payload) pairs.
    pub fn decode<'a>(attrs: impl IntoIterator<Item = (u16, &'a [u8])>) -> ExtAck {
        const MISS_TYPE: u16 = 5; // NLMSGERR_ATTR_MISS_TYPE, Linux >= 6.0
        let mut ack = ExtAck::default();
        for (kind, payload) in attrs {
            if kind == u16::from(NlmsgerrAttr::Msg) {
                let text = payload.split(|&b| b == 0).next().unwrap_or_default();
                let text = String::from_utf8_lossy(text).trim().to_string();
                if !text.is_empty() {
                    ack.msg = Some(text);
                }
            } else if kind == MISS_TYPE {
                ack.missing_attr = decode_u32(payload);
            }
        }
        ack
    }

    /// `; the kernel says "..."` (or names the missing attribute), or
    /// nothing if the ACK said nothing.
    pub fn suffix(&self) -> String {
        match (&self.msg, self.missing_attr) {
            (Some(m), _) => format!("; the kernel says \"{m}\""),
            (None, Some(t)) => format!("; the kernel says attribute {t} is missing"),
            (None, None) => String::new(),
        }
    }
}

/// A failed netdev request.
#[derive(Debug)]
pub enum Error {
    /// The kernel has no generic netlink family `netdev`.
    NoFamily,
    /// The kernel refused the request with this errno and extended ACK.
    Kernel {
        /// What was asked.
        op: Op,
        /// The positive errno.
        errno: i32,
        /// What the kernel said along with it.
        ack: ExtAck,
    },
    /// A system call around the request failed (socket, setns).
    Io {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        err: io::Error,
    },
    /// The conversation did not go as netlink says it should (an answer
    /// that does not parse, a missing ACK).
    Protocol(String),
}

impl Error {
    /// The errno, if the kernel or a system call gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::NoFamily => Some(libc::ENOENT),
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { err, .. } => err.raw_os_error(),
            Error::Protocol(_) => None,
        }
    }
}

/// The symbolic name and text of an errno, as `no such file or directory
/// (ENOENT)`.
fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    format!("{text} ({})", crate::errno_name(errno))
}

impl fmt::Display for Error {
    /// The reason, with what to do about it, e.g. `not permitted (EPERM):
    /// napi-set needs CAP_NET_ADMIN ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoFamily => f.write_str(
                "this kernel has no netdev generic netlink family (ENOENT): it came in \
                 Linux 6.3; NAPI queries need Linux 6.8+, napi-set Linux 6.13+ (or this patch)",
            ),
            Error::Kernel { op, errno, ack } => {
                let why = match (*op, *errno) {
                    (Op::NapiSet(_), libc::EOPNOTSUPP) => {
                        "this kernel has no netdev napi-set (Linux 6.13+, or this patch) \
                         (EOPNOTSUPP)"
                            .to_string()
                    }
                    (Op::NapiGet(_) | Op::NapiDump(_), libc::EOPNOTSUPP) => {
                        "this kernel has no netdev napi-get (Linux 6.8+) (EOPNOTSUPP)".to_string()
                    }
                    (Op::NapiSet(_), libc::EPERM) => "not permitted (EPERM): napi-set needs \
                         CAP_NET_ADMIN (in the initial user namespace): run it as root"
                        .to_string(),
                    (Op::NapiSet(id) | Op::NapiGet(id), libc::ENOENT) => format!(
                        "no NAPI instance with id {id} in this network namespace (ENOENT), or \
                         its device is down: 'epoll-bp napi show' lists them"
                    ),
                    (Op::NapiDump(Some(ifindex)), libc::ENODEV) => format!(
                        "no device with ifindex {ifindex} in this network namespace (ENODEV)"
                    ),
                    (Op::NapiSet(_), libc::EINVAL) => format!(
                        "{}: the kernel takes defer-hard-irqs up to {DEFER_HARD_IRQS_MAX}",
                        errno_text(libc::EINVAL)
                    ),
                    (_, errno) => errno_text(errno),
                };
                write!(f, "{why}{}", ack.suffix())
            }
            Error::Io { what, err } => match err.raw_os_error() {
                Some(n) => write!(f, "{what}: {}", errno_text(n)),
                None => write!(f, "{what}: {err}"),
            },
            Error::Protocol(why) => write!(f, "unexpected netlink answer: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// `GENL_ID_CTRL`: the generic netlink controller's family ID.
const GENL_ID_CTRL: u16 = 0x10;

/// Attributes for a request, from (type, payload) pairs.
fn genl_attrs<A>(attrs: Vec<(A, Vec<u8>)>) -> Result<GenlBuffer<A, Buffer>, Error>
where
    A: neli::consts::genl::NlAttrType,
{
    let proto = |e: &dyn fmt::Display| Error::Protocol(e.to_string());
    let mut buffer = GenlBuffer::new();
    for (kind, payload) in attrs {
        let kind = AttrTypeBuilder::default()
            .nla_type(kind)
            .build()
            .map_err(|e| proto(&e))?;
        let attr = NlattrBuilder::default()
            .nla_type(kind)
            .nla_payload(payload)
            .build()
            .map_err(|e| proto(&e))?;
        buffer.push(attr);
    }
    Ok(buffer)
}

/// An extended ACK's TLVs, read.
fn ack_attrs(attrs: &GenlBuffer<NlmsgerrAttr, Buffer>) -> ExtAck {
    ExtAck::decode(
        attrs
            .iter()
            .map(|a| (u16::from(a.nla_type().nla_type()), a.nla_payload().as_ref())),
    )
}

/// What one message of an answer means for the request.
enum Step<P> {
    /// A message of the answer: more may follow.
    More(P),
    /// The ACK of a do request, or the `NLMSG_DONE` of a dump: no more.
    Done,
}

/// Reads one message of the answer to `op`: the kernel's errno (with its
/// extended ACK) in an `NLMSG_ERROR`, or in the `NLMSG_DONE` of a dump
/// that failed, is an [`Error::Kernel`].
fn step<P: Clone>(op: Op, payload: &NlPayload<u16, P>) -> Result<Step<P>, Error> {
    let refused = |errno: libc::c_int, ack| Error::Kernel {
        op,
        errno: errno.checked_neg().unwrap_or(libc::EIO),
        ack,
    };
    match payload {
        NlPayload::Payload(p) => Ok(Step::More(p.clone())),
        NlPayload::Err(err) => Err(refused(*err.error(), ack_attrs(err.ext_ack()))),
        NlPayload::DumpExtAck(err) if *err.error() != 0 => {
            Err(refused(*err.error(), ack_attrs(err.ext_ack())))
        }
        NlPayload::Ack(_) | NlPayload::DumpExtAck(_) | NlPayload::Empty => Ok(Step::Done),
    }
}

/// How long to wait for the kernel's answer.
const ANSWER_TIMEOUT_SECS: libc::time_t = 5;

/// A netlink socket talking to the netdev family in one network namespace,
/// with a datagram socket beside it for device names (`SIOCGIFNAME`,
/// `SIOCGIFINDEX` answer for the namespace of the socket they are made on).
///
/// It uses neli's plain socket, not its router: the router's conversion of
/// answers drops the extended ACK of an error (neli 0.7.5), and the kernel's
/// reasons are what an operator needs to read.
pub struct Netdev {
    sock: NlSocketHandle,
    family: u16,
    seq: Cell<u32>,
    names: OwnedFd,
}

impl Netdev {
    /// Opens the family in the calling thread's network namespace.
    pub fn open() -> Result<Netdev, Error> {
        let sock =
            NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty()).map_err(|e| {
                Error::Io {
                    what: "opening a generic netlink socket",
                    err: io::Error::other(e.to_string()),
                }
            })?;
        // Without extended ACKs the kernel's reasons are lost; a kernel
        // that has none still answers with the errno.
        let _ = sock.enable_ext_ack(true);
        let timeout = libc::timeval {
            tv_sec: ANSWER_TIMEOUT_SECS,
            tv_usec: 0,
        };
        // SAFETY: `timeout` is a valid timeval, its size given.
        let ret = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if ret < 0 {
            return Err(Error::Io {
                what: "setting the netlink socket's timeout",
                err: io::Error::last_os_error(),
            });
        }
        // SAFETY: socket() takes no pointers.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(Error::Io {
                what: "opening a socket for device names",
                err: io::Error::last_os_error(),
            });
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let names = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut netdev = Netdev {
            sock,
            family: 0,
            seq: Cell::new(0),
            names,
        };
        netdev.family = netdev.resolve(FAMILY_NAME)?;
        Ok(netdev)
    }

    /// Opens the family in the network namespace `netns` (a descriptor of
    /// it, e.g. from [`socket_netns`]): a short-lived thread enters it
    /// (`setns`, which needs `CAP_SYS_ADMIN` over it: `EPERM` otherwise)
    /// and opens the sockets, which stay in it.
    pub fn open_in(netns: BorrowedFd<'_>) -> Result<Netdev, Error> {
        let raw = netns.as_raw_fd();
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    // SAFETY: setns takes a descriptor and a flag; it
                    // changes only this thread's network namespace.
                    if unsafe { libc::setns(raw, libc::CLONE_NEWNET) } < 0 {
                        return Err(Error::Io {
                            what: "entering the socket's network namespace (setns)",
                            err: io::Error::last_os_error(),
                        });
                    }
                    Netdev::open()
                })
                .join()
                .unwrap_or_else(|_| Err(Error::Protocol("the netns thread panicked".into())))
        })
    }

    /// Sends one generic netlink request (with `NLM_F_ACK`, and `flags`)
    /// and collects its answer: the messages up to the ACK of a do request
    /// or the `NLMSG_DONE` of a dump.  The kernel's errno, with its extended
    /// ACK, is an [`Error::Kernel`].
    fn transact<C, A>(
        &self,
        op: Op,
        nl_type: u16,
        flags: NlmF,
        request: Genlmsghdr<C, A>,
    ) -> Result<Vec<Genlmsghdr<C, A>>, Error>
    where
        C: neli::consts::genl::Cmd + neli::TypeSize + fmt::Debug,
        A: neli::consts::genl::NlAttrType + fmt::Debug,
    {
        let proto = |e: &dyn fmt::Display| Error::Protocol(e.to_string());
        let io_err = |e: &dyn fmt::Display| {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN) => Error::Io {
                    what: "waiting for the kernel's netlink answer",
                    err: io::Error::from_raw_os_error(libc::ETIMEDOUT),
                },
                Some(n) if n != 0 => Error::Io {
                    what: "netlink",
                    err,
                },
                _ => proto(e),
            }
        };
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        let msg = NlmsghdrBuilder::default()
            .nl_type(nl_type)
            .nl_flags(flags | NlmF::REQUEST | NlmF::ACK)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(request))
            .build()
            .map_err(|e| proto(&e))?;
        self.sock.send(&msg).map_err(|e| io_err(&e))?;
        let mut found = Vec::new();
        loop {
            let (answers, _) = self
                .sock
                .recv::<u16, Genlmsghdr<C, A>>()
                .map_err(|e| io_err(&e))?;
            for answer in answers {
                let answer = answer.map_err(|e| proto(&e))?;
                if *answer.nl_seq() != seq {
                    continue; // an answer to an earlier request
                }
                match step(op, answer.nl_payload())? {
                    Step::More(p) => found.push(p),
                    Step::Done => return Ok(found),
                }
            }
        }
    }

    /// The ID of generic netlink family `name` (`CTRL_CMD_GETFAMILY`).
    fn resolve(&self, name: &str) -> Result<u16, Error> {
        let mut payload = name.as_bytes().to_vec();
        payload.push(0);
        let request = GenlmsghdrBuilder::<CtrlCmd, CtrlAttr, NoUserHeader>::default()
            .cmd(CtrlCmd::Getfamily)
            .version(2)
            .attrs(genl_attrs(vec![(CtrlAttr::FamilyName, payload)])?)
            .build()
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let answers = self
            .transact(Op::Resolve, GENL_ID_CTRL, NlmF::empty(), request)
            .map_err(|e| match e {
                Error::Kernel {
                    errno: libc::ENOENT,
                    ..
                } => Error::NoFamily,
                other => other,
            })?;
        answers
            .iter()
            .find_map(|a| {
                a.attrs()
                    .get_attr_handle()
                    .get_attr_payload_as::<u16>(CtrlAttr::FamilyId)
                    .ok()
            })
            .ok_or(Error::NoFamily)
    }

    /// Sends one netdev request and decodes the NAPI instances of its
    /// answer.
    fn request(
        &self,
        op: Op,
        cmd: Command,
        flags: NlmF,
        attrs: Vec<(NapiAttr, Vec<u8>)>,
    ) -> Result<Vec<Napi>, Error> {
        let request = GenlmsghdrBuilder::<Command, NapiAttr, NoUserHeader>::default()
            .cmd(cmd)
            .version(FAMILY_VERSION)
            .attrs(genl_attrs(attrs)?)
            .build()
            .map_err(|e| Error::Protocol(e.to_string()))?;
        self.transact(op, self.family, flags, request)?
            .iter()
            .map(|answer| {
                decode_napi(
                    answer
                        .attrs()
                        .iter()
                        .map(|a| (u16::from(a.nla_type().nla_type()), a.nla_payload().as_ref())),
                )
                .map_err(Error::Protocol)
            })
            .collect()
    }

    /// `napi-get` of instance `id`.
    pub fn napi_get(&self, id: u32) -> Result<Napi, Error> {
        let op = Op::NapiGet(id);
        let attrs = vec![(NapiAttr::Id, id.to_ne_bytes().to_vec())];
        let mut found = self.request(op, Command::NapiGet, NlmF::empty(), attrs)?;
        match found.len() {
            1 => Ok(found.remove(0)),
            n => Err(Error::Protocol(format!(
                "napi-get of id {id} answered with {n} instances"
            ))),
        }
    }

    /// `napi-get` dump: the instances of device `ifindex`, or of every
    /// device of the namespace; sorted by device, then ID.  A device that
    /// is down has none.
    pub fn napi_dump(&self, ifindex: Option<u32>) -> Result<Vec<Napi>, Error> {
        let attrs = ifindex
            .map(|i| (NapiAttr::Ifindex, i.to_ne_bytes().to_vec()))
            .into_iter()
            .collect();
        let mut found = self.request(Op::NapiDump(ifindex), Command::NapiGet, NlmF::DUMP, attrs)?;
        found.sort_by_key(|n| (n.ifindex, n.id));
        Ok(found)
    }

    /// `napi-set` of instance `id`.
    pub fn napi_set(&self, id: u32, settings: &NapiSettings) -> Result<(), Error> {
        let attrs = napi_set_attrs(id, settings);
        self.request(Op::NapiSet(id), Command::NapiSet, NlmF::empty(), attrs)?;
        Ok(())
    }

    /// The ifindex of device `name` in this namespace (`SIOCGIFINDEX`):
    /// `ENODEV` if there is none.
    pub fn ifindex(&self, name: &str) -> io::Result<u32> {
        let mut req = ifreq_named(name)?;
        // SAFETY: `req` is a valid ifreq the kernel reads and writes.
        if unsafe {
            libc::ioctl(
                self.names.as_raw_fd(),
                libc::SIOCGIFINDEX as _,
                &raw mut req,
            )
        } < 0
        {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: SIOCGIFINDEX filled in the ifindex member.
        let index = unsafe { req.ifr_ifru.ifru_ifindex };
        u32::try_from(index).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))
    }

    /// The name of device `ifindex` in this namespace (`SIOCGIFNAME`):
    /// `ENODEV` if there is none.
    pub fn ifname(&self, ifindex: u32) -> io::Result<String> {
        let mut req = ifreq_named("")?;
        req.ifr_ifru.ifru_ifindex = libc::c_int::try_from(ifindex)
            .map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
        // SAFETY: `req` is a valid ifreq the kernel reads and writes.
        if unsafe { libc::ioctl(self.names.as_raw_fd(), libc::SIOCGIFNAME as _, &raw mut req) } < 0
        {
            return Err(io::Error::last_os_error());
        }
        let name: Vec<u8> = req
            .ifr_name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        Ok(String::from_utf8_lossy(&name).into_owned())
    }
}

/// An `ifreq` with `name` in it: `ENODEV` if it is too long for a device
/// name (`IFNAMSIZ` with its NUL) or has a NUL.
fn ifreq_named(name: &str) -> io::Result<libc::ifreq> {
    if name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::from_raw_os_error(libc::ENODEV));
    }
    // SAFETY: an ifreq is plain data; all zeroes is a valid one.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

/// `SO_INCOMING_NAPI_ID` of a socket: the NAPI instance its last packet
/// came in through, or 0 if none has yet (IDs below the kernel's
/// `MIN_NAPI_ID` read as 0).  `ENOTSOCK` for a descriptor that is not a
/// socket, `ENOPROTOOPT` on a kernel without `CONFIG_NET_RX_BUSY_POLL`.
pub fn incoming_napi_id(sock: &impl AsRawFd) -> io::Result<u32> {
    let mut id: libc::c_uint = 0;
    let mut len = std::mem::size_of::<libc::c_uint>() as libc::socklen_t;
    // SAFETY: `id` and `len` are valid and writable, `len` is id's size.
    let ret = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_INCOMING_NAPI_ID,
            (&raw mut id).cast(),
            &raw mut len,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(id)
}

/// The network namespace of a socket (`SIOCGSKNS`), as a new descriptor:
/// `EPERM` without `CAP_NET_ADMIN` over that namespace.
pub fn socket_netns(sock: &impl AsRawFd) -> io::Result<OwnedFd> {
    // SAFETY: SIOCGSKNS takes no argument and returns a new descriptor.
    let fd = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSKNS as _, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just installed `fd` for us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A namespace's identity: the device and inode of its nsfs file.
pub fn ns_id(ns: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    Ok(crate::remote::file_id(&crate::remote::stat_fd(&ns)?))
}

/// The calling thread's network namespace's identity (see [`ns_id`]).
pub fn own_netns_id() -> io::Result<(u64, u64)> {
    let file = std::fs::File::open("/proc/thread-self/ns/net")?;
    ns_id(file.as_fd())
}

#[cfg(test)]
mod tests {
    use super::*;
    use neli::FromBytesWithInput;
    use std::io::Cursor;

    /// One netlink attribute: length, type, payload, padding.
    fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = 4 + payload.len();
        let mut v = (len as u16).to_ne_bytes().to_vec();
        v.extend(kind.to_ne_bytes());
        v.extend(payload);
        v.resize(len.next_multiple_of(4), 0);
        v
    }

    #[test]
    fn uint_is_4_or_8_bytes() {
        assert_eq!(decode_uint(&7u32.to_ne_bytes()), Some(7));
        assert_eq!(
            decode_uint(&u32::MAX.to_ne_bytes()),
            Some(u64::from(u32::MAX))
        );
        assert_eq!(decode_uint(&(1u64 << 40).to_ne_bytes()), Some(1 << 40));
        assert_eq!(decode_uint(&u64::MAX.to_ne_bytes()), Some(u64::MAX));
        assert_eq!(decode_uint(&[1, 2]), None);
        assert_eq!(decode_uint(&[0; 6]), None);
        assert_eq!(decode_uint(&[]), None);
        assert_eq!(decode_u32(&[0; 8]), None);
    }

    #[test]
    fn uint_is_encoded_as_nla_put_uint_does() {
        assert_eq!(encode_uint(20000), 20000u32.to_ne_bytes().to_vec());
        assert_eq!(
            encode_uint(u64::from(u32::MAX)),
            u32::MAX.to_ne_bytes().to_vec()
        );
        let big = u64::from(u32::MAX) + 1;
        assert_eq!(encode_uint(big), big.to_ne_bytes().to_vec());
        for v in [0, 1, 1 << 32, u64::MAX] {
            assert_eq!(decode_uint(&encode_uint(v)), Some(v));
        }
    }

    #[test]
    fn napi_decodes_with_4_and_8_byte_uints() {
        let attrs: Vec<(u16, Vec<u8>)> = vec![
            (2, 8193u32.to_ne_bytes().to_vec()),
            (1, 3u32.to_ne_bytes().to_vec()),
            (3, 35u32.to_ne_bytes().to_vec()),
            (5, 2u32.to_ne_bytes().to_vec()),
            (6, 20000u32.to_ne_bytes().to_vec()),
            (7, (5u64 << 32).to_ne_bytes().to_vec()),
            (99, vec![1, 2, 3]), // from a newer kernel: skipped
        ];
        let n = decode_napi(attrs.iter().map(|(k, p)| (*k, p.as_slice()))).unwrap();
        assert_eq!(
            n,
            Napi {
                id: 8193,
                ifindex: Some(3),
                irq: Some(35),
                pid: None,
                defer_hard_irqs: Some(2),
                gro_flush_timeout: Some(20000),
                irq_suspend_timeout: Some(5 << 32),
            }
        );
    }

    #[test]
    fn napi_decoding_rejects_bad_lengths_and_no_id() {
        let short = [(2u16, &[1u8, 0][..])];
        assert!(decode_napi(short)
            .unwrap_err()
            .contains("id (2) has 2 bytes"));
        let odd_uint = [(2u16, &1u32.to_ne_bytes()[..]), (6, &[0u8; 5][..])];
        assert!(decode_napi(odd_uint)
            .unwrap_err()
            .contains("gro-flush-timeout"));
        let no_id = [(1u16, &1u32.to_ne_bytes()[..])];
        assert!(decode_napi(no_id).unwrap_err().contains("without an id"));
    }

    #[test]
    fn a_whole_genl_answer_decodes_through_neli() {
        // The genl header (cmd, version, reserved), then the attributes as
        // the kernel of Linux 6.12 sends them: no settings, no irq.
        let mut bytes = vec![11u8, 1, 0, 0];
        bytes.extend(nla(2, &8194u32.to_ne_bytes()));
        bytes.extend(nla(1, &7u32.to_ne_bytes()));
        bytes.extend(nla(4, &321u32.to_ne_bytes()));
        let len = bytes.len();
        let msg = Genlmsghdr::<Command, NapiAttr>::from_bytes_with_input(
            &mut Cursor::new(bytes.as_slice()),
            len,
        )
        .unwrap();
        assert_eq!(*msg.cmd(), Command::NapiGet);
        let n = decode_napi(
            msg.attrs()
                .iter()
                .map(|a| (u16::from(a.nla_type().nla_type()), a.nla_payload().as_ref())),
        )
        .unwrap();
        assert_eq!(
            (n.id, n.ifindex, n.irq, n.pid, n.defer_hard_irqs),
            (8194, Some(7), None, Some(321), None)
        );
        assert_eq!(
            show_napi(&n, Some("eni1np1")),
            "napi 8194: dev=eni1np1 ifindex=7 irq=none pid=321"
        );
    }

    #[test]
    fn napi_set_sends_the_id_then_each_setting_given() {
        let s = NapiSettings {
            defer_hard_irqs: Some(3),
            gro_flush_timeout: None,
            irq_suspend_timeout: Some(1 << 33),
        };
        assert_eq!(
            napi_set_attrs(8193, &s),
            vec![
                (NapiAttr::Id, 8193u32.to_ne_bytes().to_vec()),
                (NapiAttr::DeferHardIrqs, 3u32.to_ne_bytes().to_vec()),
                (
                    NapiAttr::IrqSuspendTimeout,
                    (1u64 << 33).to_ne_bytes().to_vec()
                ),
            ]
        );
        assert!(NapiSettings::default().is_empty());
        assert!(!s.is_empty());
        // The numbers are mainline's (include/uapi/linux/netdev.h).
        assert_eq!(u8::from(Command::NapiSet), 14);
        assert_eq!(u16::from(NapiAttr::IrqSuspendTimeout), 7);
    }

    #[test]
    fn show_formats_every_field() {
        let n = Napi {
            id: 8193,
            ifindex: Some(2),
            irq: Some(35),
            pid: Some(99),
            defer_hard_irqs: Some(0),
            gro_flush_timeout: Some(20000),
            irq_suspend_timeout: Some(0),
        };
        assert_eq!(
            show_napi(&n, Some("eth0")),
            "napi 8193: dev=eth0 ifindex=2 irq=35 pid=99 defer_hard_irqs=0 \
             gro_flush_timeout=20000 irq_suspend_timeout=0"
        );
        let bare = Napi {
            id: 5,
            ..Napi::default()
        };
        assert_eq!(
            show_napi(&bare, None),
            "napi 5: dev=? ifindex=? irq=none pid=none"
        );
    }

    fn kernel(op: Op, errno: i32, msg: Option<&str>) -> String {
        Error::Kernel {
            op,
            errno,
            ack: ExtAck {
                msg: msg.map(str::to_string),
                missing_attr: None,
            },
        }
        .to_string()
    }

    #[test]
    fn errors_say_what_to_do() {
        let eperm = kernel(Op::NapiSet(8193), libc::EPERM, None);
        assert!(eperm.starts_with("not permitted (EPERM): napi-set needs CAP_NET_ADMIN"));
        let enoent = kernel(Op::NapiSet(77), libc::ENOENT, None);
        assert!(
            enoent.starts_with("no NAPI instance with id 77 in this network namespace (ENOENT)")
        );
        assert!(kernel(Op::NapiGet(77), libc::ENOENT, None).contains("id 77"));
        assert_eq!(
            kernel(Op::NapiSet(1), libc::EOPNOTSUPP, None),
            "this kernel has no netdev napi-set (Linux 6.13+, or this patch) (EOPNOTSUPP)"
        );
        assert!(kernel(Op::NapiDump(None), libc::EOPNOTSUPP, None).contains("no netdev napi-get"));
        assert!(
            kernel(Op::NapiDump(Some(9)), libc::ENODEV, None).contains("no device with ifindex 9")
        );
        assert!(Error::NoFamily
            .to_string()
            .starts_with("this kernel has no netdev generic netlink family"));
        assert_eq!(Error::NoFamily.errno(), Some(libc::ENOENT));
        assert_eq!(
            kernel(Op::NapiDump(None), libc::EBUSY, None),
            "device or resource busy (EBUSY)"
        );
    }

    #[test]
    fn the_kernels_message_is_quoted() {
        assert_eq!(
            kernel(Op::NapiSet(1), libc::ERANGE, Some("integer out of range")),
            "numerical result out of range (ERANGE); the kernel says \"integer out of range\""
        );
        assert!(kernel(Op::NapiSet(1), libc::EINVAL, Some("bad"))
            .ends_with("up to 2147483647; the kernel says \"bad\""));
    }

    /// A netlink message: header (type, flags, seq 1, pid 77), payload.
    fn nlmsg(kind: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ((16 + payload.len()) as u32).to_ne_bytes().to_vec();
        v.extend(kind.to_ne_bytes());
        v.extend(flags.to_ne_bytes());
        v.extend(1u32.to_ne_bytes());
        v.extend(77u32.to_ne_bytes());
        v.extend(payload);
        v
    }

    type Answer = neli::nl::Nlmsghdr<u16, Genlmsghdr<Command, NapiAttr>>;

    fn parse_answer(bytes: &[u8]) -> Answer {
        use neli::FromBytes;
        Answer::from_bytes(&mut Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn a_refused_request_keeps_the_kernels_extack() {
        // What Linux answers a napi-set of defer-hard-irqs 0xffffffff with
        // NETLINK_EXT_ACK on: NLMSG_ERROR with NLM_F_ACK_TLVS, the request
        // echoed whole, then the message, offset and policy TLVs.
        let mut request = vec![14u8, 1, 0, 0];
        request.extend(nla(2, &8193u32.to_ne_bytes()));
        request.extend(nla(5, &u32::MAX.to_ne_bytes()));
        let mut payload = (-libc::ERANGE).to_ne_bytes().to_vec();
        payload.extend(nlmsg(0x24, 0x5, &request));
        payload.extend(nla(1, b"integer out of range\0"));
        payload.extend(nla(2, &36u32.to_ne_bytes()));
        payload.extend(nla(0x8004, &nla(5, &(i32::MAX as u64).to_ne_bytes())));
        let answer = parse_answer(&nlmsg(2, 0x200, &payload));
        match step(Op::NapiSet(8193), answer.nl_payload()) {
            Err(e) => assert_eq!(
                e.to_string(),
                "numerical result out of range (ERANGE); the kernel says \"integer out of range\""
            ),
            Ok(_) => panic!("an NLMSG_ERROR is no success"),
        }
    }

    #[test]
    fn answers_end_at_the_ack_or_the_done() {
        // napi-get's answer, then the ACK of the do request.
        let mut reply = vec![11u8, 1, 0, 0];
        reply.extend(nla(2, &8193u32.to_ne_bytes()));
        let answer = parse_answer(&nlmsg(0x24, 0, &reply));
        assert!(matches!(
            step(Op::NapiGet(8193), answer.nl_payload()),
            Ok(Step::More(_))
        ));
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend(nlmsg(0x24, 0x5, &[]));
        let answer = parse_answer(&nlmsg(2, 0x100, &ack));
        assert!(matches!(
            step(Op::NapiGet(8193), answer.nl_payload()),
            Ok(Step::Done)
        ));
        // The NLMSG_DONE of a dump: its errno, 0 or not.
        let done = parse_answer(&nlmsg(3, 0x2, &0i32.to_ne_bytes()));
        assert!(matches!(
            step(Op::NapiDump(None), done.nl_payload()),
            Ok(Step::Done)
        ));
        let failed = parse_answer(&nlmsg(3, 0x2, &(-libc::ENODEV).to_ne_bytes()));
        match step(Op::NapiDump(Some(9)), failed.nl_payload()) {
            Err(e) => assert_eq!(e.errno(), Some(libc::ENODEV)),
            Ok(_) => panic!("a failed dump is no success"),
        }
    }

    #[test]
    fn ext_ack_tlvs_decode() {
        let msg = b"integer out of range\0\0\0\0";
        let ack = ExtAck::decode([(1u16, &msg[..]), (2, &20u32.to_ne_bytes()[..])]);
        assert_eq!(ack.msg.as_deref(), Some("integer out of range"));
        assert_eq!(ack.missing_attr, None);
        let ack = ExtAck::decode([(5u16, &2u32.to_ne_bytes()[..])]);
        assert_eq!(ack.suffix(), "; the kernel says attribute 2 is missing");
        assert_eq!(ExtAck::decode([]).suffix(), "");
        assert_eq!(ExtAck::decode([(1u16, &b"\0"[..])]).msg, None);
    }
}
