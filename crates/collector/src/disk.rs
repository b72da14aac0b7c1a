//! Block devices and filesystems: `/proc/diskstats` and `/proc/mounts` parsing,
//! the rules for which devices and mounts count, and I/O rates.

use crate::delta::{counter_delta, percent, rate};
use crate::raw::{DiskCounters, FsStats, MountEntry, set_string, slot};
use crate::snapshot::{DiskIo, FilesystemUsage};

/// diskstats counts in 512-byte sectors whatever the device's real sector size.
const SECTOR_BYTES: u64 = 512;

/// Parses `/proc/diskstats` into `out`, overwriting entries in place.
///
/// `whole_disks` is the listing of `/sys/block` when available; without it a
/// name heuristic decides what is a partition.
pub fn parse_diskstats(text: &str, whole_disks: Option<&[String]>, out: &mut Vec<DiskCounters>) {
    let mut n = 0;
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(_major), Some(_minor), Some(name)) = (f.next(), f.next(), f.next()) else { continue };
        let mut v = [0u64; 7];
        let mut count = 0;
        for (dst, field) in v.iter_mut().zip(f) {
            let Ok(x) = field.parse() else { break };
            *dst = x;
            count += 1;
        }
        if count < 7 {
            continue;
        }
        let e = slot(out, n);
        set_string(&mut e.name, name);
        e.counted = counts_toward_io(name, whole_disks);
        e.reads = v[0];
        e.read_bytes = v[2].saturating_mul(SECTOR_BYTES);
        e.writes = v[4];
        e.written_bytes = v[6].saturating_mul(SECTOR_BYTES);
        n += 1;
    }
    out.truncate(n);
}

/// Whether a device's I/O belongs in the machine total. Partitions, device-mapper
/// and md devices would count the same bytes twice (they sit on top of a disk);
/// loop, ram and zram are memory or files, not disk traffic.
pub fn counts_toward_io(name: &str, whole_disks: Option<&[String]>) -> bool {
    const VIRTUAL: [&str; 7] = ["loop", "ram", "zram", "dm-", "md", "sr", "fd"];
    if VIRTUAL.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    match whole_disks {
        Some(list) => list.iter().any(|d| d == name),
        None => !looks_like_partition(name),
    }
}

/// Partition naming: `sda1`, `vdb2`, `xvda1`, `hdc3` (letters then digits), and
/// `nvme0n1p2`, `mmcblk0p1` (a `p<N>` suffix after a digit).
pub fn looks_like_partition(name: &str) -> bool {
    let bytes = name.as_bytes();
    let digits = bytes.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits == bytes.len() {
        return false;
    }
    let stem = &bytes[..bytes.len() - digits];
    if let [.., d, b'p'] = stem
        && d.is_ascii_digit()
    {
        return true;
    }
    ["sd", "hd", "vd", "xvd"].iter().any(|p| name.starts_with(p)) && stem.iter().all(|b| b.is_ascii_alphabetic())
}

/// Disk I/O summed over counted devices, with rates against `prev` (matched by name).
pub fn disk_io(prev: &[DiskCounters], cur: &[DiskCounters], elapsed_secs: Option<f64>) -> DiskIo {
    let (mut read, mut written, mut d_read, mut d_written) = (0u64, 0u64, 0u64, 0u64);
    for (i, c) in cur.iter().enumerate().filter(|(_, c)| c.counted) {
        read = read.saturating_add(c.read_bytes);
        written = written.saturating_add(c.written_bytes);
        let p = match prev.get(i) {
            Some(p) if p.name == c.name => Some(p),
            _ => prev.iter().find(|p| p.name == c.name),
        };
        if let Some(p) = p {
            d_read = d_read.saturating_add(counter_delta(p.read_bytes, c.read_bytes));
            d_written = d_written.saturating_add(counter_delta(p.written_bytes, c.written_bytes));
        }
    }
    DiskIo {
        read_bytes: read,
        written_bytes: written,
        read_bytes_per_sec: rate(0, d_read, elapsed_secs),
        write_bytes_per_sec: rate(0, d_written, elapsed_secs),
    }
}

/// Parses `/proc/mounts`, decoding the octal escapes the kernel uses for spaces,
/// tabs, newlines and backslashes in paths.
pub fn parse_mounts(text: &str, out: &mut Vec<MountEntry>) {
    out.clear();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(device), Some(mount_point), Some(fs_type)) = (f.next(), f.next(), f.next()) else { continue };
        out.push(MountEntry {
            device: unescape_octal(device),
            mount_point: unescape_octal(mount_point),
            fs_type: fs_type.to_owned(),
        });
    }
}

fn unescape_octal(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let code = b.get(i + 1..i + 4).and_then(|oct| {
            let oct = std::str::from_utf8(oct).ok()?;
            u8::from_str_radix(oct, 8).ok()
        });
        match (b[i], code) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Kernel and virtual filesystems that hold no user data on a disk.
const PSEUDO_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "nfsd",
];

/// Network filesystems: statvfs on one whose server is gone can block for minutes,
/// which would stall the 1 s loop, so they are opt-in.
const NETWORK_FS: &[&str] =
    &["nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "9p", "ceph", "glusterfs", "fuse.glusterfs"];

/// Whether a mount is a pseudo filesystem. `overlay` counts as real only at `/`
/// (a container's root); elsewhere it is a container layer whose space is the
/// underlying disk's, already reported.
pub fn is_pseudo_fs(fs_type: &str, mount_point: &str) -> bool {
    if fs_type == "overlay" && mount_point == "/" {
        return false;
    }
    PSEUDO_FS.contains(&fs_type)
}

/// Whether a mount is a network filesystem.
pub fn is_network_fs(fs_type: &str) -> bool {
    NETWORK_FS.contains(&fs_type)
}

/// Keeps the mounts worth a statvfs: real filesystems, one per device (bind
/// mounts and container bind-ins repeat a device), preferring the shortest
/// mount point so `/` wins over `/var/lib/docker/...`.
pub fn select_mounts(all: &[MountEntry], include_network: bool, out: &mut Vec<MountEntry>) {
    out.clear();
    for m in all {
        if is_pseudo_fs(&m.fs_type, &m.mount_point) || (!include_network && is_network_fs(&m.fs_type)) {
            continue;
        }
        match out.iter_mut().find(|o| o.device == m.device) {
            Some(o) if m.mount_point.len() < o.mount_point.len() => *o = m.clone(),
            Some(_) => {}
            None => out.push(m.clone()),
        }
    }
}

/// The usage view of one mount from its statvfs figures.
pub fn filesystem_usage(m: &MountEntry, s: &FsStats) -> FilesystemUsage {
    let used = s.total_bytes.saturating_sub(s.free_bytes);
    FilesystemUsage {
        device: m.device.clone(),
        mount_point: m.mount_point.clone(),
        fs_type: m.fs_type.clone(),
        total_bytes: s.total_bytes,
        used_bytes: used,
        available_bytes: s.available_bytes,
        // The root reserve is neither used nor available, as in `df`.
        percent: percent(used, used.saturating_add(s.available_bytes)),
        inodes_total: s.inodes_total,
        inodes_used: s.inodes_total.saturating_sub(s.inodes_free),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISKSTATS: &str = "\
   7       0 loop0 52 0 2172 21 0 0 0 0 0 36 21 0 0 0 0
   8       0 sda 45123 1203 3845730 31234 98231 40213 5123456 123456 0 98765 160000 0 0 0 0 1234 5678
   8       1 sda1 44000 1200 3800000 31000 98000 40200 5120000 123000 0 98000 159000 0 0 0 0
   8      15 sda15 200 0 5000 30 1 0 8 0 0 40 30 0 0 0 0
 259       0 nvme0n1 100 0 2000 5 50 0 1000 5 0 10 10
 259       1 nvme0n1p1 100 0 2000 5 50 0 1000 5 0 10 10
 253       0 dm-0 9 9 9 9 9 9 9 9 9 9 9
   8      16 sdb 1 2 3
   8      32 sdc x 0 0 0 0 0 0 0 0 0 0
";

    #[test]
    fn parse_diskstats_heuristic() {
        let mut v = Vec::new();
        parse_diskstats(DISKSTATS, None, &mut v);
        let counted: Vec<_> = v.iter().filter(|d| d.counted).map(|d| d.name.as_str()).collect();
        assert_eq!(counted, ["sda", "nvme0n1"]);
        assert_eq!(v.len(), 7); // sdb and sdc are malformed
        let sda = &v[1];
        assert_eq!((sda.reads, sda.writes), (45123, 98231));
        assert_eq!(sda.read_bytes, 3845730 * 512);
        assert_eq!(sda.written_bytes, 5123456 * 512);
    }

    #[test]
    fn parse_diskstats_with_sys_block() {
        let mut v = Vec::new();
        let whole = ["sda".to_owned(), "loop0".to_owned(), "dm-0".to_owned()];
        parse_diskstats(DISKSTATS, Some(&whole), &mut v);
        let counted: Vec<_> = v.iter().filter(|d| d.counted).map(|d| d.name.as_str()).collect();
        assert_eq!(counted, ["sda"]);
    }

    #[test]
    fn partition_names() {
        for p in ["sda1", "sda15", "vdb2", "xvda1", "nvme0n1p1", "mmcblk0p2", "hdc3"] {
            assert!(looks_like_partition(p), "{p}");
        }
        for d in ["sda", "sdaa", "vdb", "xvdf", "nvme0n1", "mmcblk0", "sr0", "123", ""] {
            assert!(!looks_like_partition(d), "{d}");
        }
    }

    fn disk(name: &str, counted: bool, r: u64, w: u64) -> DiskCounters {
        DiskCounters { name: name.into(), counted, read_bytes: r, written_bytes: w, ..DiskCounters::default() }
    }

    #[test]
    fn io_rates_sum_counted_devices() {
        let prev = [disk("sda", true, 1000, 2000), disk("sda1", false, 1000, 2000), disk("sdb", true, 500, 500)];
        let cur = [disk("sda", true, 3000, 6000), disk("sda1", false, 3000, 6000), disk("sdb", true, 100, 900)];
        let io = disk_io(&prev, &cur, Some(2.0));
        assert_eq!(io.read_bytes_per_sec, Some(1000.0)); // sdb reset counts as 0
        assert_eq!(io.write_bytes_per_sec, Some(2200.0));
        assert_eq!((io.read_bytes, io.written_bytes), (3100, 6900));
        assert_eq!(disk_io(&[], &cur, None).read_bytes_per_sec, None);
    }

    const MOUNTS: &str = "\
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
udev /dev devtmpfs rw,nosuid,relatime,size=491196k 0 0
devpts /dev/pts devpts rw,nosuid,noexec,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=100432k,mode=755 0 0
/dev/sda1 / ext4 rw,relatime,discard,errors=remount-ro 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
/dev/sda15 /boot/efi vfat rw,relatime,fmask=0022 0 0
/dev/loop0 /snap/core20/2318 squashfs ro,nodev,relatime 0 0
/dev/sdb /mnt/my\\040data xfs rw,relatime 0 0
/dev/sda1 /var/lib/docker ext4 rw,relatime 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw,relatime,lowerdir=/x 0 0
server:/export /mnt/nfs nfs4 rw,relatime 0 0
garbage
";

    #[test]
    fn mounts_filter_and_dedup() {
        let mut all = Vec::new();
        parse_mounts(MOUNTS, &mut all);
        assert_eq!(all.len(), 13);
        let mut sel = Vec::new();
        select_mounts(&all, false, &mut sel);
        let points: Vec<_> = sel.iter().map(|m| m.mount_point.as_str()).collect();
        assert_eq!(points, ["/", "/boot/efi", "/mnt/my data"]);
        select_mounts(&all, true, &mut sel);
        assert_eq!(sel.last().map(|m| m.fs_type.as_str()), Some("nfs4"));
    }

    #[test]
    fn overlay_root_is_kept_and_shorter_mount_wins() {
        let mut all = Vec::new();
        parse_mounts(
            "/dev/sda1 /etc/hosts ext4 rw 0 0\noverlay / overlay rw 0 0\n/dev/sda1 /data ext4 rw 0 0\n",
            &mut all,
        );
        let mut sel = Vec::new();
        select_mounts(&all, false, &mut sel);
        let points: Vec<_> = sel.iter().map(|m| m.mount_point.as_str()).collect();
        assert_eq!(points, ["/data", "/"]);
        assert!(is_pseudo_fs("tmpfs", "/"));
        assert!(!is_pseudo_fs("ext4", "/proc"));
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape_octal("/a\\040b\\011c\\134d"), "/a b\tc\\d");
        assert_eq!(unescape_octal("/bad\\04"), "/bad\\04");
        assert_eq!(unescape_octal("/x\\999"), "/x\\999");
    }

    #[test]
    fn usage_like_df() {
        let m = MountEntry { device: "/dev/sda1".into(), mount_point: "/".into(), fs_type: "ext4".into() };
        let s = FsStats { total_bytes: 1000, free_bytes: 300, available_bytes: 200, inodes_total: 10, inodes_free: 4 };
        let u = filesystem_usage(&m, &s);
        assert_eq!((u.used_bytes, u.available_bytes, u.inodes_used), (700, 200, 6));
        assert!((u.percent - 700.0 / 900.0 * 100.0).abs() < 1e-9);
    }
}
