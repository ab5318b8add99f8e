//! The allocator of every process that links the core: the CLI, the desktop app, and the
//! tests and benchmarks that measure them. On Linux it is jemalloc, the allocator SurrealDB's
//! own server is built with there: glibc's spends a third of a large commit in `malloc`,
//! `free` and their consolidation of freed chunks (SurrealDB builds and drops a value, a key
//! and a write-set entry per record), and jemalloc takes a quarter to a third off that commit's time
//! (`image_bench`, figures in `docs/benchmarks.md`). The document reader (`telos-reader`)
//! does not link the core and keeps the system allocator under its own limits.

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
