//! Compiling a tcpdump-syntax filter into classic BPF with the system's libpcap.
//!
//! libpcap is loaded at run time (`libpcap.so.0.8`, Debian's `libpcap0.8`, which
//! tcpdump and most capture tools pull in), only when a `filter` is configured: building
//! lookout needs no C library, and a capture without a filter needs none at run time.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};

use super::socket::BpfInstruction;

#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut BpfInstruction,
}

const LIBRARIES: &[&str] = &["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];
const DLT_EN10MB: c_int = 1;
const DLT_RAW: c_int = 12;
const PCAP_NETMASK_UNKNOWN: u32 = 0xffff_ffff;

/// Compiles `filter` for frames of `link` captured with `snaplen`.
pub fn compile(
    filter: &str,
    link: lookout_net::decode::LinkType,
    snaplen: u32,
) -> Result<Vec<BpfInstruction>, String> {
    let expression =
        CString::new(filter).map_err(|_| "the filter contains a NUL byte".to_string())?;
    // SAFETY: loading libpcap runs its initialisers, which have no preconditions.
    let library = LIBRARIES
        .iter()
        .find_map(|name| unsafe { libloading::Library::new(name) }.ok())
        .ok_or_else(|| {
            "a capture filter needs libpcap at run time (Debian package libpcap0.8); none was found"
                .to_string()
        })?;
    let linktype = match link {
        lookout_net::decode::LinkType::RawIp => DLT_RAW,
        _ => DLT_EN10MB,
    };
    // SAFETY: the symbols have these C signatures in every libpcap since 0.8; the
    // handle is closed and the program freed on every path.
    unsafe {
        let open_dead: libloading::Symbol<unsafe extern "C" fn(c_int, c_int) -> *mut c_void> =
            library
                .get(b"pcap_open_dead\0")
                .map_err(|e| e.to_string())?;
        let compile: libloading::Symbol<
            unsafe extern "C" fn(*mut c_void, *mut BpfProgram, *const c_char, c_int, u32) -> c_int,
        > = library.get(b"pcap_compile\0").map_err(|e| e.to_string())?;
        let geterr: libloading::Symbol<unsafe extern "C" fn(*mut c_void) -> *const c_char> =
            library.get(b"pcap_geterr\0").map_err(|e| e.to_string())?;
        let freecode: libloading::Symbol<unsafe extern "C" fn(*mut BpfProgram)> =
            library.get(b"pcap_freecode\0").map_err(|e| e.to_string())?;
        let close: libloading::Symbol<unsafe extern "C" fn(*mut c_void)> =
            library.get(b"pcap_close\0").map_err(|e| e.to_string())?;
        let handle = open_dead(linktype, snaplen as c_int);
        if handle.is_null() {
            return Err("libpcap could not open a compilation handle".to_string());
        }
        let mut program = BpfProgram {
            bf_len: 0,
            bf_insns: std::ptr::null_mut(),
        };
        let result = compile(
            handle,
            &mut program,
            expression.as_ptr(),
            1,
            PCAP_NETMASK_UNKNOWN,
        );
        if result != 0 {
            let message = CStr::from_ptr(geterr(handle))
                .to_string_lossy()
                .into_owned();
            close(handle);
            return Err(format!("filter {filter:?} does not compile: {message}"));
        }
        let instructions =
            std::slice::from_raw_parts(program.bf_insns, program.bf_len as usize).to_vec();
        freecode(&mut program);
        close(handle);
        Ok(instructions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_net::decode::LinkType;

    fn libpcap_present() -> bool {
        LIBRARIES
            .iter()
            .any(|name| unsafe { libloading::Library::new(name) }.is_ok())
    }

    #[test]
    fn a_filter_compiles_and_a_bad_one_says_why() {
        if !libpcap_present() {
            assert!(
                std::env::var("CI").is_err(),
                "libpcap0.8 is missing: run tests/peers/install-traffic.sh"
            );
            eprintln!("skipped: libpcap is not installed");
            return;
        }
        let program = compile("tcp port 80", LinkType::Ethernet, 256).unwrap();
        assert!(program.len() > 4, "{program:?}");
        // The last instruction returns (BPF_RET).
        assert_eq!(program.last().unwrap().code & 0x07, 0x06);
        let error = compile("tcp port eighty", LinkType::Ethernet, 256).unwrap_err();
        assert!(error.contains("does not compile"), "{error}");
    }
}
