%% @private
%% @doc The NIFs of the Rust core, untyped; `mongoose_system_metrics_core' is the typed
%% wrapper everything else calls. Kept apart so the service can be reloaded on its own
%% (a NIF library cannot be upgraded in place).
-module(mongoose_system_metrics_nif).

-export([configure/1, start/1, stop/0, run_inline/3, run_dirty/3, last_report/0, follow/1]).

-on_load(load/0).

-spec load() -> ok | {error, term()}.
load() ->
    erlang:load_nif(filename:join(priv_dir(), "libmongoose_system_metrics_nif"), 0).

priv_dir() ->
    case code:priv_dir(mongoose_system_metrics) of
        {error, bad_name} ->
            %% Loaded from a bare -pa path whose directory is not named after the app.
            filename:join(filename:dirname(filename:dirname(code:which(?MODULE))), "priv");
        Dir ->
            Dir
    end.

-spec configure(term()) -> term().
configure(_StartArgument) -> erlang:nif_error(nif_not_loaded).

-spec start(reference()) -> term().
start(_Configuration) -> erlang:nif_error(nif_not_loaded).

-spec stop() -> ok.
stop() -> erlang:nif_error(nif_not_loaded).

-spec run_inline(report | preview | validate, term(), term()) -> term().
run_inline(_Job, _Facts, _Identity) -> erlang:nif_error(nif_not_loaded).

-spec run_dirty(report | preview | validate, term(), term()) -> term().
run_dirty(_Job, _Facts, _Identity) -> erlang:nif_error(nif_not_loaded).

-spec last_report() -> term().
last_report() -> erlang:nif_error(nif_not_loaded).

-spec follow(term()) -> term().
follow(_HandOver) -> erlang:nif_error(nif_not_loaded).
