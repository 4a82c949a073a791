%% @doc The Rust core, typed: the one module that calls the NIFs.
%%
%% `configure/1' turns this node's options into an opaque configuration (the API secret
%% stays inside the core) and `start/1' installs it. `report_now/2' returns a reference at
%% once; the cycle's result arrives later as
%% `{mongoose_system_metrics_reply, Ref, {ok, Report, FileResult, HandOver} | {error, Reason}}',
%% where `Report' is what `last_report/0' then gives (its events one binary of JSON text)
%% and `HandOver' what the other members of the cluster take on with `follow/1'.
%% `preview/1' and `validate/2' wait for their answer.
%%
%% A missing NIF library (a broken build) or a panic in Rust (rustler raises
%% `nif_panicked') is an error result here, never an exception.
-module(mongoose_system_metrics_core).

-export([configure/1, configure_argument/1, start/1, stop/0, report_now/2, await/2, preview/1,
         validate/2, last_report/0, follow/1, decodes_inline/1]).

-include("mongoose_system_metrics_log.hrl").

%% Facts of at most this many terms (map entries, list cells, atoms, numbers; a binary
%% counts one per 64 bytes) are decoded on the caller's scheduler, in well under 100 µs;
%% larger ones on a dirty scheduler, whose wake-up and spinning cost more than a small
%% decode.
-define(INLINE_TERMS, 1000).
%% The core ends every cycle and validation within 80 s.
-define(ANSWER_TIMEOUT, 90000).

-type start_argument() :: #{options := map() | list(),
                            fault => panic_in_nif | panic_in_cycle,
                            built_in_tracking_id => mongooseim | none | undefined | term(),
                            host_client_id => binary() | undefined,
                            report_dir => file:filename_all() | undefined,
                            environment => #{do_not_track | mongooseim_system_metrics | ci => string() | false},
                            delivery => #{atom() => pos_integer()},
                            min_periodic_report => pos_integer()}.
-type started() :: #{mode := on | local | off,
                     mode_reason := binary(),
                     notice := boolean(),
                     initial_report := non_neg_integer(),
                     periodic_report := pos_integer(),
                     report_file := binary(),
                     client_id := binary() | null,
                     created_ms := non_neg_integer(),
                     destinations := [binary()],
                     warnings := [binary()]}.
-type options_error() :: {invalid_option, atom() | binary(), binary()}
                       | {unknown_option, atom() | binary(), binary()}
                       | {invalid_options, binary()}.
-type facts_error() :: {invalid_fact, atom() | binary(), binary()}.
%% What can go wrong once configured; `not_loaded' and `nif_panicked' are the binding's.
-type reason() :: not_started | cancelled | not_loaded | nif_panicked
                | {runtime_unavailable | timeout | panicked | invalid_hand_over | client_id_not_saved, binary()}
                | facts_error().
-type report() :: #{binary() => term()}.
%% An opaque reference to a validated configuration held by the core.
-type configuration() :: reference().
-type identity() :: #{client_id := binary(), created_ms := non_neg_integer()}.
-type hand_over() :: #{identity := identity() | undefined,
                       stanza_totals := #{binary() => #{binary() => non_neg_integer()}}}.
-type cycle_result() :: {ok, report(), ok | {error, binary()}, hand_over()} | {error, reason()}.
-type dropped() :: [{atom() | binary(), binary()}].
-export_type([start_argument/0, started/0, options_error/0, facts_error/0, reason/0, report/0,
              configuration/0, identity/0, hand_over/0, cycle_result/0]).

%% @doc This node's options validated: the start argument carries what the core cannot
%% see for itself (the host's cluster id and URL, the log directory, the environment
%% variables, the application environment). A URL of the host's own configuration that
%% the core refuses is not the operator's doing: it is left out, with a warning.
-spec configure(map() | list()) -> {ok, configuration(), started()} | {error, options_error() | reason()}.
configure(Options) ->
    WithHostUrl = with_host_url(Options),
    case configure_argument(start_argument(WithHostUrl)) of
        {error, {invalid_option, google_analytics_url, Why}} when WithHostUrl =/= Options ->
            ?MSM_LOG(warning, #{what => system_metrics_host_url_ignored, text => Why}),
            configure_argument(start_argument(Options));
        Result ->
            Result
    end.

%% @doc A start argument validated; installs nothing and touches no file.
-spec configure_argument(start_argument()) -> {ok, configuration(), started()} | {error, options_error() | reason()}.
configure_argument(Argument) ->
    guarded(fun() -> mongoose_system_metrics_nif:configure(Argument) end).

%% @doc Installs a configuration, replacing the running one; in the `off' mode, clears
%% the core and forgets the client id.
-spec start(configuration()) -> {ok, started()} | {error, reason()}.
start(Configuration) ->
    guarded(fun() -> mongoose_system_metrics_nif:start(Configuration) end).

%% @doc Clears the core's configuration and cancels its work in flight.
-spec stop() -> ok.
stop() ->
    _ = guarded(fun mongoose_system_metrics_nif:stop/0),
    ok.

%% @doc Starts a cycle on these facts, sent with the identity elected for the cluster
%% (`undefined': this node's), which the core takes on. Facts it cannot use are left out
%% and named in `Dropped'.
-spec report_now(map(), identity() | undefined) -> {ok, reference(), dropped()} | {error, reason()}.
report_now(Facts, Identity) ->
    run(report, Facts, Identity).

%% @doc The result of the job that returned `Ref', or `{error, timeout}'.
-spec await(reference(), timeout()) -> term().
await(Ref, Timeout) ->
    receive
        {mongoose_system_metrics_reply, Ref, Result} -> Result
    after Timeout ->
        {error, timeout}
    end.

%% @doc The report a cycle would send now for these facts; nothing is sent or written.
-spec preview(map()) -> {ok, report()} | {error, reason()}.
preview(Facts) ->
    answer(run(preview, Facts, undefined)).

%% @doc What Google's validation server says of the report these facts make, per GA4
%% destination.
-spec validate(map(), identity() | undefined) -> {ok, [#{binary() => term()}]} | {error, reason()}.
validate(Facts, Identity) ->
    answer(run(validate, Facts, Identity)).

%% @doc The last report a cycle finished on this node.
-spec last_report() -> {ok, report()} | {error, no_report}.
last_report() ->
    case guarded(fun mongoose_system_metrics_nif:last_report/0) of
        {ok, Report} -> {ok, Report};
        {error, _} -> {error, no_report}
    end.

%% @doc Takes on what the member that reported handed over.
-spec follow(hand_over()) -> ok | {error, reason()}.
follow(HandOver) ->
    guarded(fun() -> mongoose_system_metrics_nif:follow(HandOver) end).

%% @doc Whether these facts are decoded on the caller's scheduler.
-spec decodes_inline(term()) -> boolean().
decodes_inline(Facts) ->
    terms_left(Facts, ?INLINE_TERMS) >= 0.

%% Internal.

run(Job, Facts, Identity) ->
    Run = case decodes_inline(Facts) of
              true -> fun mongoose_system_metrics_nif:run_inline/3;
              false -> fun mongoose_system_metrics_nif:run_dirty/3
          end,
    case guarded(fun() -> Run(Job, Facts, Identity) end) of
        {ok, Ref} -> {ok, Ref, []};
        Other -> Other
    end.

answer({ok, Ref, _Dropped}) -> await(Ref, ?ANSWER_TIMEOUT);
answer({error, Reason}) -> {error, Reason}.

guarded(Call) ->
    try
        Call()
    catch
        error:nif_not_loaded -> {error, not_loaded};
        error:undef -> {error, not_loaded};
        error:nif_panicked -> {error, nif_panicked}
    end.

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

start_argument(Options) ->
    Argument = #{options => Options,
                 built_in_tracking_id => built_in_tracking_id(),
                 host_client_id => mongoose_system_metrics_collect:host_client_id(),
                 report_dir => log_dir(),
                 %% The environment can only lower sharing; the core decides. CI=true
                 %% picks MongooseIM's CI property, as MongooseIM does.
                 environment => #{do_not_track => os:getenv("DO_NOT_TRACK"),
                                  mongooseim_system_metrics => os:getenv("MONGOOSEIM_SYSTEM_METRICS"),
                                  ci => os:getenv("CI")}},
    %% `delivery' tunes timeouts and retries and `min_periodic_report' lowers the floor of
    %% `periodic_report' (tests shorten both); `fault' injects a panic for the reliability
    %% tests.
    lists:foldl(fun(Key, Acc) ->
                        case application:get_env(mongoose_system_metrics, Key) of
                            {ok, Value} -> Acc#{Key => Value};
                            undefined -> Acc
                        end
                end, Argument, [delivery, fault, min_periodic_report]).

%% `auto': MongooseIM's own GA4 property inside MongooseIM, as its own service, and none
%% elsewhere (a node of another product has no business sending to it); else the
%% packager's choice.
built_in_tracking_id() ->
    case application:get_env(mongoose_system_metrics, default_tracking_id, auto) of
        auto ->
            case mongoose_system_metrics_collect:host_source() of
                mongoose_system_metrics_mongooseim -> mongooseim;
                _ -> none
            end;
        Chosen ->
            Chosen
    end.

%% Without the option, the URL of the host's own configuration, if it has one (as
%% MongooseIM's global `google_analytics_url' key, which its own service honours).
with_host_url(Options) ->
    Keys = [google_analytics_url, <<"google_analytics_url">>],
    Given = case Options of
                #{} -> lists:any(fun(K) -> maps:is_key(K, Options) end, Keys);
                %% An improper list goes to the core as it is, which names what is wrong.
                _ when is_list(Options) ->
                    try lists:any(fun(K) -> lists:keymember(K, 1, Options) end, Keys)
                    catch error:badarg -> true
                    end;
                _ -> true
            end,
    case Given of
        true ->
            Options;
        false ->
            case mongoose_system_metrics_collect:host_google_analytics_url() of
                undefined -> Options;
                Url when is_map(Options) -> Options#{google_analytics_url => Url};
                Url -> Options ++ [{google_analytics_url, Url}]
            end
    end.

%% The directory of the first file log handler, as MongooseIM puts its logs there.
log_dir() ->
    Files = [File || #{config := #{file := File}} <- logger:get_handler_config()],
    case Files of
        [File | _] -> filename:dirname(File);
        [] -> undefined
    end.
