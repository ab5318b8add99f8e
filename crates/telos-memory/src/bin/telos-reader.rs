//! `telos-reader`: parses one untrusted document in a process of its own, confined, for the
//! app (`telos_memory::reader`).

fn main() {
    telos_memory::reader::serve()
}
