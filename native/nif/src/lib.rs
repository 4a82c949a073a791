//! The rustler binding of the core: decode Erlang terms once at the edge, call the core,
//! encode its answers. The NIFs themselves are in [`nifs`]; answers that come later go
//! through [`reply`]; the Erlang module that loads this library is
//! `mongoose_system_metrics_nif`.

mod atoms;
mod decode;
mod encode;
mod nifs;
mod reply;

rustler::init!("mongoose_system_metrics_nif");
