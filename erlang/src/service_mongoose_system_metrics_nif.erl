%% @private
%% @doc The NIF surface of the Rust core. Kept apart from the service so the service
%% module can be reloaded on its own (the NIF library cannot be upgraded in place).
%%
%% Erlang tests call these directly with hand-made facts:
%% `configure/1' validates options into an opaque configuration (the API secret stays
%% inside the core); `start/1' installs one, or validates and installs a start argument;
%% `report_now/1' returns
%% `{ok, Ref}' at once and later sends the caller
%% `{mongoose_system_metrics_report, Ref, {ok, Report, FileResult} | {error, Why}}',
%% where `Report' is what `last_report/0' then gives: its events are one binary of JSON
%% text.
-module(service_mongoose_system_metrics_nif).

-export([configure/1, start/1, stop/0, report_now/1, preview/1, validate/1, last_report/0,
         identity/0, follow/1, baseline/0, ping/0]).
-export([report_now_inline/1, report_now_dirty/1, decodes_inline/1]).

%% Facts of at most this many terms (map entries, list cells, atoms, numbers; a binary
%% counts one per 64 bytes) are decoded on the caller's scheduler, in well under 100 µs;
%% larger ones on a dirty scheduler, whose wake-up and spinning cost more than a small
%% decode.
-define(INLINE_TERMS, 1000).

-on_load(load/0).

-type start_argument() :: #{options := map() | list(),
                            fault => panic_in_nif | panic_in_cycle,
                            built_in_tracking_id => mongooseim | none | undefined | term(),
                            host_client_id => binary() | undefined,
                            report_dir => file:filename_all() | undefined,
                            environment => #{do_not_track | mongooseim_system_metrics | ci => string() | false},
                            delivery => #{atom() => pos_integer()}}.
-type started() :: #{mode := on | local | off,
                     mode_reason := binary(),
                     notice := boolean(),
                     initial_report := non_neg_integer(),
                     periodic_report := pos_integer(),
                     report_file := binary(),
                     client_id := binary() | null,
                     destinations := [binary()],
                     warnings := [binary()]}.
-type options_error() :: {invalid_option, atom() | binary(), binary()}
                       | {unknown_option, atom() | binary(), binary()}
                       | {invalid_options, binary()}.
-type facts_error() :: {invalid_fact, atom() | binary(), binary()}.
-type report() :: #{binary() => term()}.
%% An opaque reference to a validated configuration held by the core.
-type configuration() :: reference().
-export_type([start_argument/0, started/0, options_error/0, facts_error/0, report/0, configuration/0]).

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

%% Validates; installs nothing and touches no file.
-spec configure(start_argument()) -> {ok, configuration(), started()} | {error, options_error()}.
configure(_Argument) ->
    erlang:nif_error(nif_not_loaded).

-spec start(configuration() | start_argument()) -> {ok, started()} | {error, options_error()}.
start(_ConfigurationOrArgument) ->
    erlang:nif_error(nif_not_loaded).

-spec stop() -> ok.
stop() ->
    erlang:nif_error(nif_not_loaded).

%% Bad facts are left out and named: {ok, Ref, [{Fact, Why}]}.
-spec report_now(term()) -> {ok, reference()} | {ok, reference(), [{atom() | binary(), binary()}]}
                          | {error, facts_error() | not_started | {runtime_unavailable, binary()}}.
report_now(Facts) ->
    case decodes_inline(Facts) of
        true -> report_now_inline(Facts);
        false -> report_now_dirty(Facts)
    end.

%% Whether report_now/1 decodes these facts on the caller's scheduler.
-spec decodes_inline(term()) -> boolean().
decodes_inline(Facts) ->
    terms_left(Facts, ?INLINE_TERMS) >= 0.

-spec report_now_inline(term()) -> {ok, reference()} | {ok, reference(), [{atom() | binary(), binary()}]}
                                 | {error, facts_error() | not_started | {runtime_unavailable, binary()}}.
report_now_inline(_Facts) ->
    erlang:nif_error(nif_not_loaded).

-spec report_now_dirty(term()) -> {ok, reference()} | {ok, reference(), [{atom() | binary(), binary()}]}
                                | {error, facts_error() | not_started | {runtime_unavailable, binary()}}.
report_now_dirty(_Facts) ->
    erlang:nif_error(nif_not_loaded).

%% Budget less the terms of Term, counted only until the budget runs out: a large
%% deployment's facts cost no more to look at than small ones.
terms_left(_Term, Budget) when Budget < 0 ->
    Budget;
terms_left(Map, Budget) when is_map(Map) ->
    map_terms_left(maps:next(maps:iterator(Map)), Budget - 1);
terms_left([Head | Tail], Budget) ->
    terms_left(Tail, terms_left(Head, Budget - 1));
terms_left(Tuple, Budget) when is_tuple(Tuple) ->
    tuple_terms_left(Tuple, 1, Budget - 1);
terms_left(Binary, Budget) when is_binary(Binary) ->
    Budget - 1 - byte_size(Binary) div 64;
terms_left(_Other, Budget) ->
    Budget - 1.

tuple_terms_left(Tuple, Index, Budget) when Budget < 0; Index > tuple_size(Tuple) ->
    Budget;
tuple_terms_left(Tuple, Index, Budget) ->
    tuple_terms_left(Tuple, Index + 1, terms_left(element(Index, Tuple), Budget)).

map_terms_left(_Next, Budget) when Budget < 0 ->
    Budget;
map_terms_left(none, Budget) ->
    Budget;
map_terms_left({Key, Value, Iterator}, Budget) ->
    map_terms_left(maps:next(Iterator), terms_left(Value, terms_left(Key, Budget))).

-spec preview(map()) -> {ok, report()} | {error, facts_error() | not_started}.
preview(_Facts) ->
    erlang:nif_error(nif_not_loaded).

%% Sends the report to Google's validation server; the answer arrives as
%% {mongoose_system_metrics_validation, Ref, {ok, [Validation]} | {error, Why}}.
-spec validate(map()) -> {ok, reference()} | {error, facts_error() | not_started | {runtime_unavailable, binary()}}.
validate(_Facts) ->
    erlang:nif_error(nif_not_loaded).

%% This node's client id and when it was made.
-spec identity() -> {ok, #{binary() => binary() | non_neg_integer()}} | {error, not_started}.
identity() ->
    erlang:nif_error(nif_not_loaded).

%% Each node's stanza totals at the last report.
-spec baseline() -> {ok, #{binary() => #{binary() => non_neg_integer()}}} | {error, not_started}.
baseline() ->
    erlang:nif_error(nif_not_loaded).

%% Takes on the cluster's identity (when given) and each node's stanza totals.
-spec follow(#{client_id => binary(), created_ms => non_neg_integer(), stanza_totals => map()}) ->
          ok | {error, not_started | binary()}.
follow(_State) ->
    erlang:nif_error(nif_not_loaded).

%% Does nothing: the benchmarks' baseline.
-spec ping() -> ok.
ping() ->
    erlang:nif_error(nif_not_loaded).

-spec last_report() -> {ok, report()} | {error, no_report}.
last_report() ->
    erlang:nif_error(nif_not_loaded).
