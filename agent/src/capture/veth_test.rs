//! The ring on a veth pair inside a private network namespace: frames sent
//! into one end arrive byte for byte (VLAN tags included) at the ring on the
//! other end; a ring left unread drops and counts; a fanout group splits
//! flows between workers without losing any. Needs root (CAP_NET_ADMIN to
//! make the namespace and the pair, CAP_NET_RAW for the sockets).

use super::afpacket::AfPacketRing;
use crate::config;
use std::collections::HashMap;
use std::ffi::CString;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TX: &str = "vcap0";
const RX: &str = "vcap1";
/// IEEE 802 local experimental EtherType: no stack in the namespace reacts.
const ETHERTYPE_TEST: [u8; 2] = [0x88, 0xb5];
const MAGIC: &[u8; 8] = b"osectcap";
/// Longest wait for frames that must arrive.
const WAIT: Duration = Duration::from_secs(5);

/// Runs `f` on a thread of its own inside a new network namespace holding a
/// veth pair `TX`–`RX`, both up. The namespace (and the pair) vanish with
/// the thread, whatever `f` does.
fn in_veth_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare affects only this thread, which owns nothing
            // tied to the old namespace.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(
                rc,
                0,
                "unshare(CLONE_NEWNET) failed ({}): this test needs root",
                std::io::Error::last_os_error()
            );
            // Child processes inherit the namespace of the thread that forks them.
            ip(&["link", "add", TX, "type", "veth", "peer", "name", RX]);
            ip(&["link", "set", TX, "up"]);
            ip(&["link", "set", RX, "up"]);
            f()
        })
        .join()
        .expect("test thread panicked")
    })
}

fn ip(args: &[&str]) {
    let st = Command::new("ip")
        .args(args)
        .status()
        .expect("running ip (package iproute2)");
    assert!(st.success(), "ip {args:?} failed");
}

fn ifindex(name: &str) -> libc::c_int {
    let c = CString::new(name).unwrap();
    // SAFETY: NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert!(i > 0, "no interface {name}");
    i as libc::c_int
}

/// A raw socket that sends whole frames out of `iface`.
struct Sender {
    fd: OwnedFd,
    addr: libc::sockaddr_ll,
}

impl Sender {
    fn new(iface: &str) -> Sender {
        // SAFETY: plain system call; checked below.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        assert!(
            raw >= 0,
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: plain data; zero is valid.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex(iface);
        addr.sll_halen = 6;
        Sender { fd, addr }
    }

    fn send(&self, frame: &[u8]) {
        // SAFETY: the buffer and the address are valid for their lengths.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&self.addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        assert_eq!(
            n,
            frame.len() as isize,
            "sendto: {}",
            std::io::Error::last_os_error()
        );
    }
}

fn ring_cfg(block_size: u32, block_count: u32) -> config::Capture {
    config::Capture {
        interface: RX.into(),
        block_size,
        block_count,
        frame_size: 2048,
        block_timeout_ms: 5,
        promiscuous: true,
        fanout_workers: 1,
        ignore_checksums: false,
    }
}

/// The ring of a single worker.
fn open(cfg: &config::Capture) -> AfPacketRing {
    let mut rings = AfPacketRing::open_all(cfg).unwrap();
    assert_eq!(rings.len(), 1);
    rings.remove(0)
}

/// An Ethernet frame carrying `MAGIC` and `seq`, behind `tags` (TPID, TCI).
fn test_frame(seq: u32, tags: &[(u16, u16)], payload_len: usize) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    for (tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ETHERTYPE_TEST);
    f.extend_from_slice(MAGIC);
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend((0..payload_len).map(|i| (i as u32 ^ seq) as u8));
    f
}

/// The sequence number of a frame made by `test_frame`, if it is one.
fn test_seq(frame: &[u8]) -> Option<u32> {
    let at = frame.windows(MAGIC.len()).position(|w| w == MAGIC)?;
    let b = frame.get(at + MAGIC.len()..at + MAGIC.len() + 4)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// Polls until `want` test frames arrived or `wait` passed; returns them by
/// sequence number with their timestamp and wire length.
fn receive(
    ring: &mut AfPacketRing,
    want: usize,
    wait: Duration,
) -> HashMap<u32, (i64, Vec<u8>, u32)> {
    let mut got = HashMap::new();
    let deadline = Instant::now() + wait;
    while got.len() < want && Instant::now() < deadline {
        ring.poll(20, |ts, frame, wire| {
            if let Some(seq) = test_seq(frame) {
                got.insert(seq, (ts, frame.to_vec(), wire));
            }
        })
        .unwrap();
    }
    got
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

#[test]
fn frames_arrive_whole_with_their_vlan_tags() {
    in_veth_netns(|| {
        let mut ring = open(&ring_cfg(1 << 16, 8));
        let tx = Sender::new(TX);
        let cases: Vec<Vec<u8>> = vec![
            test_frame(0, &[], 50),
            test_frame(1, &[(0x8100, 0x2064)], 50),
            // 802.1ad outer tag over an 802.1Q inner tag (Q-in-Q).
            test_frame(2, &[(0x88a8, 0x0007), (0x8100, 0x0fff)], 50),
            // VLAN 0 with a priority: the tag must not vanish.
            test_frame(3, &[(0x8100, 0xa000)], 50),
            test_frame(4, &[], 1400),
            test_frame(5, &[(0x8100, 0x0005)], 1400),
        ];
        let t0 = now_us();
        for f in &cases {
            tx.send(f);
        }
        let got = receive(&mut ring, cases.len(), WAIT);
        let t1 = now_us();
        for (seq, sent) in cases.iter().enumerate() {
            let (ts, frame, wire) = got
                .get(&(seq as u32))
                .unwrap_or_else(|| panic!("frame {seq} not received"));
            assert_eq!(frame, sent, "frame {seq} differs");
            assert_eq!(*wire as usize, sent.len(), "wire length of frame {seq}");
            assert!(
                (t0 - 1000..=t1).contains(ts),
                "timestamp {ts} outside [{t0}, {t1}]"
            );
        }
        let st = ring.kernel_stats().unwrap();
        assert!(st.packets >= cases.len() as u64, "{st:?}");
        assert_eq!(st.drops, 0, "{st:?}");
    })
}

#[test]
fn frames_longer_than_frame_size_are_truncated_with_their_wire_length() {
    in_veth_netns(|| {
        ip(&["link", "set", TX, "mtu", "4000"]);
        ip(&["link", "set", RX, "mtu", "4000"]);
        let mut ring = open(&ring_cfg(1 << 16, 4));
        let sent = test_frame(9, &[(0x8100, 0x0010)], 3000);
        Sender::new(TX).send(&sent);
        let got = receive(&mut ring, 1, WAIT);
        let (_, frame, wire) = got.get(&9).expect("long frame not received");
        assert_eq!(*wire as usize, sent.len());
        // 2048 bytes kept by the kernel, plus the re-inserted tag.
        assert_eq!(frame.len(), 2048 + 4);
        assert_eq!(&frame[..], &sent[..frame.len()]);
    })
}

#[test]
fn an_unread_ring_drops_and_counts_then_recovers() {
    in_veth_netns(|| {
        // Two 4 KiB blocks hold a handful of 1 KiB frames.
        let mut ring = open(&ring_cfg(4096, 2));
        let tx = Sender::new(TX);
        for seq in 0..200 {
            tx.send(&test_frame(seq, &[], 1000));
        }
        let st = ring.kernel_stats().unwrap();
        assert!(st.drops > 0, "{st:?}");
        assert!(st.freezes > 0, "{st:?}");
        assert!(st.packets >= 200, "{st:?}");
        let kept = receive(&mut ring, 200, Duration::from_millis(300)).len();
        assert!(kept > 0 && kept < 200, "kept {kept} of 200");
        // The counters add up across reads even though the kernel resets them.
        let again = ring.kernel_stats().unwrap();
        assert!(
            again.drops >= st.drops && again.packets >= st.packets,
            "{st:?} then {again:?}"
        );
        // Released blocks go back to the kernel: new frames arrive again.
        tx.send(&test_frame(1000, &[], 100));
        assert!(
            receive(&mut ring, 1, WAIT).contains_key(&1000),
            "ring did not recover"
        );
    })
}

/// An IPv4/UDP frame from port `sport`, so the fanout hash spreads flows.
fn udp_frame(seq: u32, sport: u16) -> Vec<u8> {
    let mut payload = MAGIC.to_vec();
    payload.extend_from_slice(&seq.to_be_bytes());
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&[0x1f, 0x90, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    f.extend_from_slice(&payload);
    f
}

#[test]
fn fanout_workers_split_flows_and_lose_none() {
    in_veth_netns(|| {
        let mut cfg = ring_cfg(1 << 16, 8);
        cfg.fanout_workers = 2;
        let mut rings = AfPacketRing::open_all(&cfg).unwrap();
        let (mut w1, mut w0) = (rings.pop().unwrap(), rings.pop().unwrap());
        let tx = Sender::new(TX);
        let n = 64u32;
        for seq in 0..n {
            tx.send(&udp_frame(seq, 40000 + seq as u16));
        }
        let mut by_worker = [Vec::new(), Vec::new()];
        let deadline = Instant::now() + WAIT;
        while by_worker[0].len() + by_worker[1].len() < n as usize && Instant::now() < deadline {
            for (i, w) in [&mut w0, &mut w1].into_iter().enumerate() {
                w.poll(20, |_, frame, _| by_worker[i].extend(test_seq(frame)))
                    .unwrap();
            }
        }
        let mut all: Vec<u32> = by_worker.concat();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "each frame exactly once");
        assert!(
            !by_worker[0].is_empty() && !by_worker[1].is_empty(),
            "64 flows all hashed to one worker: {} / {}",
            by_worker[0].len(),
            by_worker[1].len()
        );
    })
}
