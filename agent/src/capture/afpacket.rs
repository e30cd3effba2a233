//! An AF_PACKET `TPACKET_V3` receive ring: the kernel writes frames into
//! blocks of a shared memory mapping, hands each filled (or timed-out) block
//! to user space by setting its status, and takes it back when user space
//! resets the status. No system call per packet, one `poll(2)` per idle wait.
//!
//! Blocks are consumed strictly in ring order, as the kernel fills them. When
//! the block the kernel wants next is still held by user space, the kernel
//! freezes the queue and drops frames; both show in [`KernelStats`].
//!
//! The kernel strips the outermost 802.1Q/802.1ad tag into the frame's
//! header; the ring puts it back so the engine sees the frame as it was on
//! the wire (and as a pcap file of the same traffic shows it).

use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::config;

/// Destination and source MAC: the VLAN tag goes right after them.
const MAC_ADDRS_LEN: usize = 12;
const VLAN_TAG_LEN: usize = 4;
/// Where `block_status` lies in a block descriptor.
const BLOCK_STATUS_OFFSET: usize =
    offset_of!(libc::tpacket_block_desc, hdr) + offset_of!(libc::tpacket_hdr_v1, block_status);
const FRAME_HDR_LEN: usize = size_of::<libc::tpacket3_hdr>();

/// The socket's counters since the ring was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames that reached the socket, the dropped ones included (the
    /// kernel's `tp_packets`).
    pub packets: u64,
    /// Frames the kernel dropped because the ring was full.
    pub drops: u64,
    /// Times the kernel found the next block still held by user space and
    /// froze the queue.
    pub freezes: u64,
}

/// One worker's receive ring on one interface.
pub struct AfPacketRing {
    fd: OwnedFd,
    map: NonNull<u8>,
    map_len: usize,
    block_size: usize,
    block_count: usize,
    /// The block to read next.
    next: usize,
    /// Where a frame whose VLAN tag the kernel stripped is rebuilt.
    scratch: Box<[u8]>,
    /// The kernel resets its counters on every read: the sums live here.
    totals: Cell<KernelStats>,
}

// SAFETY: the ring exclusively owns its socket and mapping; no pointer into
// the mapping outlives a call, so the ring may move to another thread.
unsafe impl Send for AfPacketRing {}

impl AfPacketRing {
    /// Opens one ring on `cfg.interface` per worker of `cfg.fanout_workers`.
    /// With several workers the sockets join one `PACKET_FANOUT` group (per
    /// process) that spreads flows by a symmetric hash, after IP
    /// defragmentation, so both directions of a flow reach one worker.
    ///
    /// No ring takes a frame before every socket has joined the group: a
    /// socket bound but not yet in the group sees every frame (the others'
    /// too), and a group that grows while capturing moves flows from one
    /// worker to another in mid-connection.
    pub fn open_all(cfg: &config::Capture) -> io::Result<Vec<Self>> {
        let rings = (0..cfg.fanout_workers)
            .map(|_| Self::open_paused(cfg))
            .collect::<io::Result<Vec<_>>>()?;
        for r in &rings {
            r.set_filter(cfg.frame_size)?;
        }
        Ok(rings)
    }

    /// A ring whose socket keeps no frame until [`Self::set_filter`].
    fn open_paused(cfg: &config::Capture) -> io::Result<Self> {
        let block_size = cfg.block_size as usize;
        let block_count = cfg.block_count as usize;
        let page = page_size()?;
        if block_size == 0 || !block_size.is_multiple_of(page) {
            return Err(invalid(format!(
                "capture.block_size = {}: must be a positive multiple of the page size {page}",
                cfg.block_size
            )));
        }
        if !(cfg.frame_size as usize).is_multiple_of(libc::TPACKET_ALIGNMENT)
            || (cfg.frame_size as usize) < libc::TPACKET3_HDRLEN
            || cfg.frame_size > cfg.block_size
        {
            return Err(invalid(format!(
                "capture.frame_size = {}: must be a multiple of {} between {} and capture.block_size",
                cfg.frame_size,
                libc::TPACKET_ALIGNMENT,
                libc::TPACKET3_HDRLEN
            )));
        }
        let map_len = block_size
            .checked_mul(block_count)
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                invalid(format!(
                    "capture.block_size * capture.block_count = {} * {}: out of range",
                    cfg.block_size, cfg.block_count
                ))
            })?;
        let frame_nr = (cfg.block_size / cfg.frame_size)
            .checked_mul(cfg.block_count)
            .ok_or_else(|| invalid("capture.block_count: too many frames".into()))?;

        let iface = &cfg.interface;
        let name = CString::new(iface.as_str())
            .map_err(|_| invalid(format!("capture.interface {iface:?}: contains a NUL byte")))?;
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(context(
                io::Error::last_os_error(),
                &format!("capture.interface {iface:?}"),
            ));
        }

        // Protocol 0: the socket receives nothing until it is bound to the
        // interface below, so no frame of another interface enters the ring.
        // SAFETY: plain system call; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(context(
                io::Error::last_os_error(),
                "AF_PACKET socket (needs CAP_NET_RAW)",
            ));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        set_opt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &version,
            "PACKET_VERSION",
        )?;

        // Nothing enters the ring until `open_all` lets frames in.
        attach_filter(&fd, 0)?;

        let req = libc::tpacket_req3 {
            tp_block_size: cfg.block_size,
            tp_block_nr: cfg.block_count,
            tp_frame_size: cfg.frame_size,
            tp_frame_nr: frame_nr,
            tp_retire_blk_tov: cfg.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        set_opt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_RX_RING,
            &req,
            "PACKET_RX_RING",
        )?;

        // SAFETY: maps the ring the kernel just allocated for this socket;
        // the length is the ring's size and the result is checked.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(context(
                io::Error::last_os_error(),
                "mmap of the packet ring",
            ));
        }
        let map = NonNull::new(addr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap of the packet ring returned null"))?;
        // From here on, Drop unmaps and closes on every error path.
        let ring = AfPacketRing {
            fd,
            map,
            map_len,
            block_size,
            block_count,
            next: 0,
            scratch: vec![0; cfg.frame_size as usize + VLAN_TAG_LEN].into_boxed_slice(),
            totals: Cell::new(KernelStats::default()),
        };

        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `sll` is a valid sockaddr_ll and the length is its size.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(context(
                io::Error::last_os_error(),
                &format!("bind to interface {iface:?}"),
            ));
        }

        if cfg.promiscuous {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as libc::c_int,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            // The membership ends when the socket closes.
            set_opt(
                &ring.fd,
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                &mreq,
                "promiscuous mode (PACKET_ADD_MEMBERSHIP)",
            )?;
        }

        if cfg.fanout_workers > 1 {
            // One group per process: several agents on one host never share.
            let group = (std::process::id() & 0xffff) as u32;
            let arg: u32 =
                group | ((libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG) << 16);
            set_opt(
                &ring.fd,
                libc::SOL_PACKET,
                libc::PACKET_FANOUT,
                &arg,
                "PACKET_FANOUT",
            )?;
        }
        Ok(ring)
    }

    /// Lets frames in, keeping at most `frame_size` bytes of each (a V3 ring
    /// alone would keep up to a whole block).
    fn set_filter(&self, frame_size: u32) -> io::Result<()> {
        attach_filter(&self.fd, frame_size)
    }

    /// Waits up to `timeout_ms` (-1: forever) for frames, then hands every
    /// frame of the blocks user space owns to `f` as (timestamp in
    /// microseconds, frame bytes, length on the wire) and returns the blocks
    /// to the kernel. At most one lap of the ring per call, so the caller
    /// regains control under a flood. Returns the number of frames; 0 on
    /// timeout or when a signal interrupted the wait.
    pub fn poll(
        &mut self,
        timeout_ms: i32,
        mut f: impl FnMut(i64, &[u8], u32),
    ) -> io::Result<usize> {
        if !self.block_ready(self.next) {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd, count 1.
            let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::Interrupted {
                    Ok(0)
                } else {
                    Err(context(e, "poll on the packet ring"))
                };
            }
            if pfd.revents & libc::POLLERR != 0 {
                return Err(context(self.take_socket_error(), "packet socket"));
            }
        }
        let mut frames = 0;
        for _ in 0..self.block_count {
            if !self.block_ready(self.next) {
                break;
            }
            frames += self.drain_block(self.next, &mut f);
            self.block_status(self.next)
                .store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.next = (self.next + 1) % self.block_count;
        }
        Ok(frames)
    }

    /// The kernel's counters, summed since the ring was opened.
    pub fn kernel_stats(&self) -> io::Result<KernelStats> {
        // SAFETY: plain data; all-zero is a valid value.
        let mut st: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` is writable for `len` bytes; the kernel writes at most that.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(context(io::Error::last_os_error(), "PACKET_STATISTICS"));
        }
        let mut t = self.totals.get();
        t.packets += u64::from(st.tp_packets);
        t.drops += u64::from(st.tp_drops);
        t.freezes += u64::from(st.tp_freeze_q_cnt);
        self.totals.set(t);
        Ok(t)
    }

    fn block_status(&self, index: usize) -> &AtomicU32 {
        // SAFETY: `index < block_count`, so the descriptor lies inside the
        // mapping; blocks start on page boundaries, so the u32 is aligned.
        // The kernel accesses the word concurrently, hence an atomic view.
        unsafe {
            AtomicU32::from_ptr(
                self.map
                    .as_ptr()
                    .add(index * self.block_size + BLOCK_STATUS_OFFSET)
                    .cast(),
            )
        }
    }

    fn block_ready(&self, index: usize) -> bool {
        // Acquire: the frames are visible once the status says so.
        self.block_status(index).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// Hands every frame of a user-owned block to `f`. Offsets come from the
    /// kernel but are checked anyway: a bad one ends the block, never reads
    /// outside it.
    fn drain_block(&mut self, index: usize, f: &mut impl FnMut(i64, &[u8], u32)) -> usize {
        // SAFETY: the block lies inside the mapping (index < block_count) and
        // is owned by user space until its status is reset, so the kernel
        // does not write it while these views exist.
        let block = unsafe {
            std::slice::from_raw_parts(
                self.map.as_ptr().add(index * self.block_size),
                self.block_size,
            )
        };
        // SAFETY: the descriptor fits in the block (block_size >= page size)
        // and is plain data; the union has one variant, the V3 header.
        let desc =
            unsafe { std::ptr::read_unaligned(block.as_ptr().cast::<libc::tpacket_block_desc>()) };
        // SAFETY: see above; `bh1` is the union's only member.
        let bh = unsafe { desc.hdr.bh1 };
        let mut off = bh.offset_to_first_pkt as usize;
        let mut delivered = 0;
        for _ in 0..bh.num_pkts {
            let Some(hdr_bytes) = block.get(off..off + FRAME_HDR_LEN) else {
                break;
            };
            // SAFETY: `hdr_bytes` holds a whole tpacket3_hdr (plain data).
            let hdr = unsafe {
                std::ptr::read_unaligned(hdr_bytes.as_ptr().cast::<libc::tpacket3_hdr>())
            };
            let start = off + usize::from(hdr.tp_mac);
            let Some(data) = block.get(start..start + hdr.tp_snaplen as usize) else {
                break;
            };
            let ts = i64::from(hdr.tp_sec) * 1_000_000 + i64::from(hdr.tp_nsec / 1000);
            if hdr.tp_status & libc::TP_STATUS_VLAN_VALID != 0 && data.len() >= MAC_ADDRS_LEN {
                let tpid = if hdr.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                    hdr.hv1.tp_vlan_tpid
                } else {
                    libc::ETH_P_8021Q as u16
                };
                let frame =
                    insert_vlan_tag(&mut self.scratch, data, tpid, hdr.hv1.tp_vlan_tci as u16);
                f(ts, frame, hdr.tp_len + VLAN_TAG_LEN as u32);
            } else {
                f(ts, data, hdr.tp_len);
            }
            delivered += 1;
            if hdr.tp_next_offset == 0 {
                break;
            }
            off += hdr.tp_next_offset as usize;
        }
        delivered
    }

    fn take_socket_error(&self) -> io::Error {
        let mut err: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `err` is writable for `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut err as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            io::Error::last_os_error()
        } else {
            io::Error::from_raw_os_error(err)
        }
    }
}

impl Drop for AfPacketRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `open`; no view into it
        // outlives `poll`. The socket closes when `fd` drops.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.map_len);
        }
    }
}

/// Rebuilds `frame` with the tag `tpid`/`tci` after its MAC addresses, in
/// `scratch` (truncating the frame's tail if it would not fit).
fn insert_vlan_tag<'a>(scratch: &'a mut [u8], frame: &[u8], tpid: u16, tci: u16) -> &'a [u8] {
    let len = frame.len().min(scratch.len() - VLAN_TAG_LEN);
    scratch[..MAC_ADDRS_LEN].copy_from_slice(&frame[..MAC_ADDRS_LEN]);
    scratch[MAC_ADDRS_LEN..MAC_ADDRS_LEN + 2].copy_from_slice(&tpid.to_be_bytes());
    scratch[MAC_ADDRS_LEN + 2..MAC_ADDRS_LEN + VLAN_TAG_LEN].copy_from_slice(&tci.to_be_bytes());
    scratch[MAC_ADDRS_LEN + VLAN_TAG_LEN..len + VLAN_TAG_LEN]
        .copy_from_slice(&frame[MAC_ADDRS_LEN..len]);
    &scratch[..len + VLAN_TAG_LEN]
}

/// A socket filter keeping `snap` bytes of every frame (0: no frame).
fn attach_filter(fd: &OwnedFd, snap: u32) -> io::Result<()> {
    let ret = [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: snap,
    }];
    let prog = libc::sock_fprog {
        len: 1,
        filter: ret.as_ptr() as *mut libc::sock_filter,
    };
    set_opt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        &prog,
        "SO_ATTACH_FILTER",
    )
}

fn page_size() -> io::Result<usize> {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| io::Error::other("sysconf(_SC_PAGESIZE) failed"))
}

fn set_opt<T>(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    what: &str,
) -> io::Result<()> {
    // SAFETY: `value` is a valid T readable for size_of::<T>() bytes.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(context(io::Error::last_os_error(), what))
    } else {
        Ok(())
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_tag_goes_after_the_mac_addresses() {
        let frame: Vec<u8> = (0u8..20).collect();
        let mut scratch = [0u8; 64];
        let out = insert_vlan_tag(&mut scratch, &frame, 0x8100, 0x2064);
        assert_eq!(out.len(), 24);
        assert_eq!(&out[..12], &frame[..12]);
        assert_eq!(&out[12..16], &[0x81, 0x00, 0x20, 0x64]);
        assert_eq!(&out[16..], &frame[12..]);
    }

    #[test]
    fn vlan_tag_insertion_truncates_to_the_scratch_buffer() {
        let frame = [7u8; 100];
        let mut scratch = [0u8; 40];
        let out = insert_vlan_tag(&mut scratch, &frame, 0x88a8, 5);
        assert_eq!(out.len(), 40);
        assert_eq!(&out[12..16], &[0x88, 0xa8, 0x00, 0x05]);
    }

    #[test]
    fn bad_sizes_are_named() {
        let mut cfg = config::Capture {
            interface: "lo".into(),
            ..Default::default()
        };
        cfg.frame_size = 1000;
        let e = AfPacketRing::open_all(&cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("capture.frame_size"), "{e}");
        cfg.frame_size = 2048;
        cfg.interface = "no-such-if0".into();
        let e = AfPacketRing::open_all(&cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no-such-if0"), "{e}");
    }
}
