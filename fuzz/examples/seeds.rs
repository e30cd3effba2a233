//! Writes seed inputs for every fuzz target from real captures:
//! `seeds CORPUS_DIR OUT_DIR` reads every pcap/pcapng under CORPUS_DIR and
//! fills `OUT_DIR/<target>/`. The seeds are made at run time and never
//! committed: the corpus stays outside the repository.

use osect_engine::flow::id::Transport;
use osect_engine::packet::{ethernet, ipv4, ipv6, tcp, udp, LinkType};
use osect_fuzz::{app_targets, l2_targets, link_flags, push_frame, HDR_RESP, LINKS};
use osect_pcap as pcap;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Frames per `packet` seed and records per conversation seed: enough for
/// handshakes and a few requests.
const FRAMES_PER_SEED: usize = 64;
/// Seeds per decoder target at most.
const SEEDS_PER_TARGET: usize = 300;

fn captures(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out)?;
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            out.push(p);
        }
    }
    Ok(())
}

/// The gap byte that advances the harness clock closest to `dt_us`.
fn gap_byte(dt_us: i64) -> u8 {
    if dt_us < 0 {
        return 255;
    }
    ((dt_us as f64 / 10_000.0).sqrt().round() as i64).clamp(0, 254) as u8
}

/// The transport payload of a frame: (transport, source port, destination
/// port, payload), for TCP and UDP over IPv4 or IPv6.
fn transport_payload(link: LinkType, frame: &[u8]) -> Option<(Transport, u16, u16, &[u8])> {
    let l2 = ethernet::decode(link, frame).ok()??;
    let (proto, l4, l4_len) = match l2.ethertype {
        ethernet::ETHERTYPE_IPV4 => {
            let p = ipv4::Packet::parse(l2.payload).ok()?;
            (p.frag_offset == 0).then_some(())?;
            let len = u32::from(p.total_len).checked_sub(p.header.len() as u32)?;
            (p.proto, p.payload, len)
        }
        ethernet::ETHERTYPE_IPV6 => {
            let p = ipv6::Packet::parse(l2.payload).ok()?;
            p.fragment.is_none().then_some(())?;
            let len = p
                .total_len
                .checked_sub((ipv6::HEADER_LEN + p.ext_len) as u32)?;
            (p.proto, p.payload, len)
        }
        _ => return None,
    };
    match proto {
        6 => {
            let s = tcp::Segment::parse(l4, l4_len).ok()?;
            Some((Transport::Tcp, s.src_port, s.dst_port, s.payload))
        }
        17 => {
            let d = udp::Datagram::parse(l4).ok()?;
            Some((Transport::Udp, d.src_port, d.dst_port, d.payload))
        }
        _ => None,
    }
}

/// Writes `seeds` as files of `dir`, distinct contents only, at most
/// `SEEDS_PER_TARGET`.
fn write_seeds(dir: &Path, seeds: impl IntoIterator<Item = Vec<u8>>) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut seen = HashSet::new();
    for seed in seeds {
        if seen.len() == SEEDS_PER_TARGET {
            break;
        }
        if seed.is_empty() || !seen.insert(seed.clone()) {
            continue;
        }
        let path = dir.join(format!("{:04}", seen.len()));
        std::fs::write(&path, &seed).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(seen.len())
}

/// Conversation seeds for every decoder target: per flow to the target's
/// port, its payloads in capture order with their direction.
fn conversation_seeds(files: &[PathBuf], out: &Path) -> Result<usize, String> {
    let mut flows: Vec<BTreeMap<(usize, u16, u16), Vec<u8>>> =
        vec![BTreeMap::new(); app_targets().len()];
    let mut l2: Vec<Vec<Vec<u8>>> = vec![Vec::new(); l2_targets().len()];
    for (i, file) in files.iter().enumerate() {
        let _ = pcap::read_file(file, |_, link, frame| {
            if let Some((t, sp, dp, payload)) = transport_payload(link, frame) {
                if payload.is_empty() {
                    return;
                }
                for (k, &(_, transport, port)) in app_targets().iter().enumerate() {
                    if transport != t || (sp != port && dp != port) {
                        continue;
                    }
                    let (key, hdr) = if dp == port {
                        ((i, sp, dp), 0)
                    } else {
                        ((i, dp, sp), HDR_RESP)
                    };
                    let seed = flows[k].entry(key).or_default();
                    if seed.len() < (1 << 16) {
                        push_frame(seed, hdr, payload);
                    }
                }
            } else if let Ok(Some(f)) = ethernet::decode(link, frame) {
                for (k, &(_, ethertype)) in l2_targets().iter().enumerate() {
                    if f.ethertype == ethertype && l2[k].len() < SEEDS_PER_TARGET {
                        l2[k].push(f.payload.to_vec());
                    }
                }
            }
        });
    }
    let mut n = 0;
    for (k, (name, _, _)) in app_targets().iter().enumerate() {
        n += write_seeds(&out.join(name), std::mem::take(&mut flows[k]).into_values())?;
    }
    for (k, &(name, _)) in l2_targets().iter().enumerate() {
        n += write_seeds(&out.join(name), std::mem::take(&mut l2[k]))?;
    }
    Ok(n)
}

fn run(corpus: &Path, out: &Path) -> Result<usize, String> {
    let mut files = Vec::new();
    captures(corpus, &mut files).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let dir = out.join("packet");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = 0;
    for (i, file) in files.iter().enumerate() {
        let mut seed = Vec::new();
        let mut last_ts = None;
        let mut n = 0;
        // A damaged file still gives the frames before the damage.
        let _ = pcap::read_file(file, |ts, link, frame| {
            if n == FRAMES_PER_SEED {
                return;
            }
            if seed.is_empty() {
                let Some(idx) = LINKS.iter().position(|l| *l == link) else {
                    return;
                };
                seed.push(link_flags(idx));
            }
            push_frame(&mut seed, gap_byte(ts - last_ts.unwrap_or(ts)), frame);
            last_ts = Some(ts);
            n += 1;
        });
        if n > 0 {
            let path = dir.join(format!("{i:04}"));
            std::fs::write(&path, &seed).map_err(|e| format!("{}: {e}", path.display()))?;
            written += 1;
        }
    }
    let batches = write_seeds(&out.join("batch"), osect_fuzz::batch_seeds())?;
    Ok(written + batches + conversation_seeds(&files, out)?)
}

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [corpus, out] = args.as_slice() else {
        eprintln!("usage: seeds CORPUS_DIR OUT_DIR");
        return ExitCode::FAILURE;
    };
    match run(corpus, out) {
        Ok(n) => {
            println!("seeds: {n} inputs written under {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seeds: {e}");
            ExitCode::FAILURE
        }
    }
}
