//! The rustler binding of the core: decode Erlang terms once at the edge, call the core,
//! encode its answers. The NIFs themselves are in [`service`]; the Erlang module that
//! loads this library is `service_mongoose_system_metrics_nif`.

mod atoms;
mod decode;
mod encode;
mod service;

rustler::init!("service_mongoose_system_metrics_nif");
