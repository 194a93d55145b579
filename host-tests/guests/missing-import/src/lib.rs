//! `guest-missing-import`: imports `env.proxy_no_such_function_for_tests`,
//! which no host provides; loading must fail and name it.

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_no_such_function_for_tests(value: u32) -> u32;
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_abi_version_0_2_1() {}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_vm_start(_context_id: u32, size: u32) -> u32 {
    // SAFETY: never reached: the module cannot be instantiated.
    unsafe { proxy_no_such_function_for_tests(size) }
}
