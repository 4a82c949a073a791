%% @doc `service_mongoose_system_metrics': MongooseIM's anonymous usage report.
%%
%% This process owns the timers and the consent notices; it collects the facts of the
%% node, or of the whole cluster when it is the one that reports for it
%% (`mongoose_system_metrics_cluster'), and hands them to the Rust core
%% (`mongoose_system_metrics_core'), which builds, anonymises, sends and writes the
%% report off the schedulers and answers with a message. The process never holds an API
%% secret: the core turns the options into an opaque configuration before the process
%% starts, so no state, child spec or crash report can show one.
-module(service_mongoose_system_metrics).
-behaviour(gen_server).

%% API.
-export([start/1, stop/0, report_now/0, last_report/0, preview/0, validate/0, status/0,
         verify_if_configured/0]).
%% MongooseIM's configurable-service callback.
-export([config_spec/0]).
-export([start_link/2]).

-include("mongoose_system_metrics_log.hrl").

%% gen_server.
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-type options() :: #{atom() | binary() => term()} | [atom() | {atom() | binary(), term()}].
-type report() :: mongoose_system_metrics_core:report().
-type start_error() :: mongoose_system_metrics_core:options_error()
                     | {already_started, pid()}
                     | term().
-type configuration() :: mongoose_system_metrics_core:configuration().
-type started() :: mongoose_system_metrics_core:started().
-type identity() :: mongoose_system_metrics_core:identity().
-export_type([options/0, report/0]).

%% The core ends every cycle within 80 s (a one-minute delivery deadline, then the file);
%% this watchdog only guards against a core that never reports back.
-define(CYCLE_TIMEOUT, 90000).
-define(CALL_TIMEOUT, (?CYCLE_TIMEOUT + 5000)).
%% Longest wait for the other members' facts; a cycle never waits for a slow member.
-define(MEMBER_TIMEOUT, 5000).

-record(cycle, {ref :: reference(),
                watchdog :: reference(),
                waiting = [] :: [gen_server:from()],
                started_ms :: integer()}).

-record(state, {periodic_report :: pos_integer(),
                started :: started(),
                timer :: reference(),
                members :: reference(),
                cycle :: #cycle{} | undefined,
                %% The identity this node's reports go out with.
                identity :: identity() | undefined,
                %% When the last report was built, and what became of it.
                last :: map() | null}).

%% API.

%% @doc Starts the service under this application's supervisor, starting the
%% application first if needed (MongooseIM calls this in a node where it may not be).
%% Returns `ignore' when `report = false'. Bad options give `{error, Reason}' naming the
%% option, and leave a running service and the VM untouched.
-spec start(options()) -> {ok, pid()} | ignore | {error, start_error()}.
start(Options) ->
    case application:ensure_all_started(mongoose_system_metrics) of
        {ok, _} -> start_configured(Options);
        {error, Reason} -> {error, Reason}
    end.

%% @doc Stops the service; its timers end and cycles in flight are cancelled.
-spec stop() -> ok.
stop() ->
    _ = [mongoose_system_metrics_service_sup:stop_service(Pid) || Pid <- mongoose_system_metrics_service_sup:services()],
    mark_configured(false),
    mongoose_system_metrics_state:set(off_reason, <<"stopped by stop/0">>),
    %% Also clears a configuration that no process holds any more (idempotent).
    mongoose_system_metrics_core:stop().

%% @doc Collects the facts now, sends them to every destination, writes the report
%% file and returns the report. When a cycle is already under way, waits for it instead
%% of starting another.
-spec report_now() -> {ok, report()} | {error, term()}.
report_now() ->
    try
        %% The report's events are one binary: passing it on copies no more than a reference.
        gen_server:call(?MODULE, report_now, ?CALL_TIMEOUT)
    catch
        exit:{noproc, _} -> {error, not_running};
        exit:{timeout, _} -> {error, timeout};
        exit:_ -> {error, stopped}
    end.

%% @doc The last report a cycle finished on this node.
-spec last_report() -> {ok, report()} | {error, no_report}.
last_report() ->
    mongoose_system_metrics_core:last_report().

%% @doc What a cycle would send now: the same events and destinations, but nothing is
%% sent or written.
-spec preview() -> {ok, report()} | {error, term()}.
preview() ->
    case whereis(?MODULE) of
        undefined ->
            {error, not_running};
        _ ->
            not_running_if_not_started(
              mongoose_system_metrics_core:preview(mongoose_system_metrics_cluster:own_facts()))
    end.

%% @doc Sends what a cycle would send now to Google's validation server
%% (`/debug/mp/collect'; nothing reaches reports, and the API secret is not checked
%% there) and returns, for each GA4 destination, its `validationMessages' (an empty
%% list when all is well) or the error that prevented validation.
-spec validate() -> {ok, [#{binary() => term()}]} | {error, term()}.
validate() ->
    case whereis(?MODULE) of
        undefined ->
            {error, not_running};
        _ ->
            #{facts := Facts, identity := Identity} = mongoose_system_metrics_cluster:gather(?MEMBER_TIMEOUT),
            not_running_if_not_started(mongoose_system_metrics_core:validate(Facts, Identity))
    end.

%% @doc What the service is doing and why: `implementation' and `version' (which code
%% runs: this project's, not MongooseIM's own module of the same name), `mode' (`on',
%% `local' or `off') and `mode_reason' (the option, environment variable or refusal that
%% decided it), and when it runs, `client_id' (the id reports carry), `destinations'
%% (ids, never secrets), `reporter' (whether this node reports for the cluster),
%% `next_report_at' and `last_report' (each destination's last outcome). After a refused
%% start, `refused_start' names the option and why.
-spec status() -> #{atom() => term()}.
status() ->
    Status = try
                 gen_server:call(?MODULE, status, 5000)
             catch
                 exit:{timeout, _} ->
                     #{mode => unknown, mode_reason => <<"the service is running but did not answer within 5 s">>};
                 exit:_ ->
                     #{mode => off,
                       mode_reason => mongoose_system_metrics_state:get(off_reason, <<"the service is not running">>)}
             end,
    Refused = case mongoose_system_metrics_state:get(refused_start, none) of
                  none -> #{};
                  Why -> #{refused_start => Why}
              end,
    maps:merge(Status#{implementation => <<"mongoose_system_metrics">>, version => version()}, Refused).

%% @doc MongooseIM's start-up hook: when the service is not configured, log the
%% "opted out" notice (which says how to silence it) and return `ignore'.
-spec verify_if_configured() -> ok | ignore.
verify_if_configured() ->
    case is_configured() of
        true -> ok;
        false ->
            mongoose_system_metrics_notice:system_metrics_disabled(),
            ignore
    end.

%% @doc The TOML spec of the service's section, for MongooseIM's config parser.
-spec config_spec() -> tuple().
config_spec() ->
    mongoose_system_metrics_mongooseim:config_spec().

%% @private
-spec start_link(configuration(), started()) -> {ok, pid()} | {error, term()}.
start_link(Configuration, Started) ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, {Configuration, Started}, []).

%% gen_server.

%% @private
%% Installs the configuration in the core here, in the registered process: a second,
%% concurrent start fails to register before it could replace it, and a restart after a
%% crash installs it again.
-spec init({configuration(), started()}) -> {ok, #state{}} | {stop, term()}.
init({Configuration, #{initial_report := Initial, periodic_report := Periodic} = Started}) ->
    process_flag(trap_exit, true),
    case mongoose_system_metrics_core:start(Configuration) of
        {ok, #{client_id := Id, created_ms := Created}} ->
            Identity = case Id of
                           null -> undefined;
                           _ -> #{client_id => Id, created_ms => Created}
                       end,
            mongoose_system_metrics_cluster:set_identity(Identity),
            ok = mongoose_system_metrics_cluster:join(),
            Members = mongoose_system_metrics_cluster:monitor_members(),
            %% The core's last report outlives a restart of the service.
            Last = case mongoose_system_metrics_core:last_report() of
                       {ok, Report} -> summary(Report);
                       {error, no_report} -> null
                   end,
            {ok, #state{periodic_report = Periodic, members = Members, started = Started,
                        identity = Identity, last = Last,
                        timer = erlang:send_after(Initial, self(), cycle_due)}};
        {error, Reason} ->
            {stop, Reason}
    end.

%% @private
-spec handle_call(report_now | term(), gen_server:from(), #state{}) ->
          {noreply, #state{}} | {reply, {error, unknown_call}, #state{}}.
handle_call(report_now, From, #state{cycle = undefined} = State) ->
    {noreply, start_cycle(requested, [From], State)};
handle_call(report_now, From, #state{cycle = #cycle{waiting = Waiting} = Cycle} = State) ->
    {noreply, State#state{cycle = Cycle#cycle{waiting = [From | Waiting]}}};
handle_call(status, _From, State) ->
    {reply, running_status(State), State};
handle_call(_Request, _From, State) ->
    {reply, {error, unknown_call}, State}.

%% @private
%% The member that reports told the others: remember when, and take on its hand-over
%% (the core checks it). A message of another shape (another version, or a fake) is
%% logged once and changes nothing: no message can stop the service.
-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({cluster_reported, At, Node, HandOver}, State) when is_integer(At), is_atom(Node), is_map(HandOver) ->
    %% A node that left this node's cluster may still be connected: its reports are not ours.
    case mongoose_system_metrics_cluster:is_member(Node) of
        true ->
            mongoose_system_metrics_cluster:remember_report(At, Node),
            {noreply, follow(HandOver, State)};
        false ->
            {noreply, State}
    end;
handle_cast(Request, State) ->
    ?MSM_LOG_ONCE(#{what => system_metrics_message_ignored, message => message_kind(Request)}),
    {noreply, State}.

%% @private
-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info(cycle_due, #state{periodic_report = Periodic} = State) ->
    Rearmed = arm(Periodic, State),
    case {State#state.cycle, mongoose_system_metrics_cluster:is_reporter()} of
        {_, false} ->
            %% Another member reports for the cluster.
            {noreply, Rearmed};
        {undefined, true} ->
            {noreply, start_cycle(periodic, [], Rearmed)};
        {#cycle{}, true} ->
            %% A slow delivery never piles cycles up: this one is skipped.
            ?MSM_LOG(notice, #{what => system_metrics_cycle_skipped,
                               text => <<"the previous report is still being delivered">>}),
            {noreply, Rearmed}
    end;
handle_info({Ref, leave, _Group, _Pids}, #state{members = Ref, periodic_report = Periodic} = State) ->
    %% When the member that reported goes, the one that takes over reports one period
    %% after the cluster's last report, not one period after its own next tick.
    case {mongoose_system_metrics_cluster:is_reporter(), mongoose_system_metrics_cluster:last_report_elsewhere()} of
        {true, Last} when is_integer(Last) ->
            {noreply, arm(max(0, Last + Periodic - os:system_time(millisecond)), State)};
        _ ->
            {noreply, State}
    end;
handle_info({Ref, join, _Group, _Pids}, #state{members = Ref} = State) ->
    {noreply, State};
handle_info({mongoose_system_metrics_reply, Ref, Result},
            #state{cycle = #cycle{ref = Ref, watchdog = Watchdog, waiting = Waiting} = Cycle} = State) ->
    _ = erlang:cancel_timer(Watchdog),
    Settled = State#state{cycle = undefined},
    case outcome(Result) of
        {ok, Report, HandOver} ->
            mongoose_system_metrics_cluster:announce(Cycle#cycle.started_ms, HandOver),
            reply_all(Waiting, {ok, Report}),
            {noreply, took_on(HandOver, Settled#state{last = summary(Report)})};
        {error, _} = Error ->
            reply_all(Waiting, Error),
            {noreply, Settled}
    end;
handle_info({cycle_timeout, Ref}, #state{cycle = #cycle{ref = Ref, waiting = Waiting}} = State) ->
    ?MSM_LOG(warning, #{what => system_metrics_cycle_timeout,
                        text => <<"the report cycle did not finish in time; giving up on it">>}),
    reply_all(Waiting, {error, timeout}),
    {noreply, State#state{cycle = undefined}};
handle_info(_Stale, State) ->
    %% Results and watchdogs of cycles already settled.
    {noreply, State}.

%% @private
%% Whatever the reason, the core's configuration goes with the process; a restart
%% installs it again.
-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, #state{cycle = Cycle}) ->
    case Cycle of
        #cycle{waiting = Waiting} -> reply_all(Waiting, {error, stopped});
        undefined -> ok
    end,
    mongoose_system_metrics_core:stop().

%% Internal.

%% What kind of message it was, never its content (it may hold anything).
message_kind(Message) when is_tuple(Message), tuple_size(Message) > 0, is_atom(element(1, Message)) ->
    element(1, Message);
message_kind(Message) when is_atom(Message) -> Message;
message_kind(_) -> other.

start_configured(Options) ->
    case mongoose_system_metrics_core:configure(Options) of
        {error, Reason} ->
            %% MongooseIM keeps starting whatever a service returns: say it loudly, and
            %% keep saying it in status/0.
            ?MSM_LOG(error, #{what => system_metrics_invalid_options, reason => Reason}),
            mongoose_system_metrics_state:set(refused_start, refusal_text(Reason)),
            {error, Reason};
        {ok, Configuration, Started} ->
            mongoose_system_metrics_state:set(refused_start, none),
            case whereis(?MODULE) of
                Pid when is_pid(Pid) ->
                    {error, {already_started, Pid}};
                undefined ->
                    start_service(Configuration, Started)
            end
    end.

start_service(Configuration, #{mode := off, mode_reason := Why, warnings := Warnings}) ->
    %% Installing an `off' configuration clears the core and forgets the client id. Its
    %% warnings (an environment variable of an unknown value, say) are still said.
    _ = mongoose_system_metrics_core:start(Configuration),
    _ = [mongoose_system_metrics_notice:option_warning(W) || W <- Warnings],
    mongoose_system_metrics_state:set(off_reason, Why),
    mark_configured(true),
    ignore;
start_service(Configuration, Started) ->
    case mongoose_system_metrics_service_sup:start_service(Configuration, Started) of
        {ok, Pid} ->
            mark_configured(true),
            announce(Started),
            {ok, Pid};
        {error, Reason} ->
            {error, Reason}
    end.

%% The core's options errors carry a message that names the option and never a secret.
refusal_text({_, _Option, Message}) when is_binary(Message) -> Message;
refusal_text({_, Message}) when is_binary(Message) -> Message;
refusal_text(Reason) -> iolist_to_binary(io_lib:format("~0p", [Reason])).

%% The application's version, also before it is loaded (the service never configured):
%% from the .app file beside this module, without asking the application controller.
version() ->
    case application:get_key(mongoose_system_metrics, vsn) of
        {ok, Vsn} ->
            list_to_binary(Vsn);
        undefined ->
            App = filename:join(filename:dirname(code:which(?MODULE)), "mongoose_system_metrics.app"),
            case file:consult(App) of
                {ok, [{application, _, Keys}]} -> list_to_binary(proplists:get_value(vsn, Keys, ""));
                _ -> null
            end
    end.

announce(#{notice := Notice, mode := Mode, report_file := ReportFile, warnings := Warnings}) ->
    [mongoose_system_metrics_notice:option_warning(W) || W <- Warnings],
    case Notice of
        true -> mongoose_system_metrics_notice:report_transparency(Mode, ReportFile);
        false -> ok
    end.

running_status(#state{started = Started, timer = Timer, identity = Own, last = Last}) ->
    #{mode := Mode, mode_reason := Why, destinations := Destinations} = Started,
    %% The id reports carry: the host's (MongooseIM's cluster id) when it has one.
    Identity = case {mongoose_system_metrics_collect:host_client_id(), Own} of
                   {undefined, #{client_id := Id}} -> Id;
                   {undefined, undefined} -> null;
                   {HostId, _} -> HostId
               end,
    Next = case erlang:read_timer(Timer) of
               false -> null;
               Left -> rfc3339(os:system_time(millisecond) + Left)
           end,
    #{mode => Mode, mode_reason => Why, client_id => Identity, destinations => Destinations,
      reporter => mongoose_system_metrics_cluster:is_reporter(), next_report_at => Next,
      last_report => Last}.

%% What status/0 tells of a report: when it was built, each destination's outcome, and
%% what became of the report file and the send log (a report sent and not logged is not
%% simply delivered).
summary(#{<<"generated_at">> := At, <<"destinations">> := Outcomes} = Report) ->
    #{at => At,
      destinations => [maps:with([<<"id">>, <<"result">>, <<"status">>, <<"error">>, <<"attempts">>], O)
                       || O <- Outcomes],
      files => maps:get(<<"files">>, Report, null)}.

rfc3339(Ms) ->
    list_to_binary(calendar:system_time_to_rfc3339(Ms div 1000, [{unit, second}, {offset, "Z"}])).

%% A periodic cycle gives way when another node reported less than a period ago (a
%% hand-over); one that was asked for always runs.
start_cycle(Why, Waiting, #state{periodic_report = Periodic} = State) ->
    Now = os:system_time(millisecond),
    Timeout = min(?MEMBER_TIMEOUT, max(50, Periodic div 4)),
    #{facts := Facts, identity := Identity, last_report_ms := Last} = mongoose_system_metrics_cluster:gather(Timeout),
    case Why =:= periodic andalso is_integer(Last) andalso Now - Last < Periodic * 4 div 5 of
        true ->
            arm(Last + Periodic - Now, State);
        false ->
            case mongoose_system_metrics_core:report_now(Facts, Identity) of
                {ok, Ref, Dropped} ->
                    _ = [?MSM_LOG_ONCE(#{what => system_metrics_fact_left_out, fact => Fact, text => Text})
                         || {Fact, Text} <- Dropped],
                    cycle_started(Ref, Waiting, Now, State);
                {error, Reason} ->
                    ?MSM_LOG(warning, #{what => system_metrics_cycle_failed, reason => Reason}),
                    reply_all(Waiting, {error, Reason}),
                    State
            end
    end.

cycle_started(Ref, Waiting, Now, State) ->
    Watchdog = erlang:send_after(?CYCLE_TIMEOUT, self(), {cycle_timeout, Ref}),
    State#state{cycle = #cycle{ref = Ref, watchdog = Watchdog, waiting = Waiting, started_ms = Now}}.

%% Another member's hand-over, taken on by the core.
follow(HandOver, State) ->
    case mongoose_system_metrics_core:follow(HandOver) of
        ok ->
            took_on(HandOver, State);
        {error, {client_id_not_saved, Why}} ->
            ?MSM_LOG(warning, #{what => system_metrics_client_id_not_saved, text => Why}),
            took_on(HandOver, State);
        {error, Reason} ->
            ?MSM_LOG_ONCE(#{what => system_metrics_hand_over_refused, reason => Reason}),
            State
    end.

%% The identity of a hand-over is this node's from now on (the core ignores it under the
%% host's cluster id, and so do the others' elections then).
took_on(#{identity := #{client_id := _, created_ms := _} = Identity}, State) ->
    mongoose_system_metrics_cluster:set_identity(Identity),
    State#state{identity = Identity};
took_on(_HandOver, State) ->
    State.

arm(Ms, #state{timer = Timer} = State) ->
    _ = erlang:cancel_timer(Timer),
    State#state{timer = erlang:send_after(Ms, self(), cycle_due)}.

outcome({ok, Report, FileResult, HandOver}) ->
    log_failures(Report),
    case FileResult of
        ok -> ok;
        {error, Why} -> ?MSM_LOG(warning, #{what => system_metrics_report_file_failed, text => Why})
    end,
    {ok, Report, HandOver};
outcome({error, Reason}) ->
    ?MSM_LOG(warning, #{what => system_metrics_cycle_failed, reason => Reason}),
    {error, Reason}.

%% Delivery failures are expected in closed networks: notice level, one line each.
log_failures(#{<<"destinations">> := Destinations}) ->
    _ = [?MSM_LOG(notice, #{what => system_metrics_delivery_failed, destination => Id, text => Error})
         || #{<<"id">> := Id, <<"result">> := <<"failed">>, <<"error">> := Error} <- Destinations],
    ok.

reply_all(Waiting, Reply) ->
    [gen_server:reply(From, Reply) || From <- Waiting],
    ok.

not_running_if_not_started({error, not_started}) -> {error, not_running};
not_running_if_not_started(Result) -> Result.

%% Whether the service is configured on this node: the host's configuration says, or
%% else whether start/1 was called (even with `report = false').
is_configured() ->
    case mongoose_system_metrics_collect:host_says_configured() of
        unknown -> mongoose_system_metrics_state:get(service_configured, false);
        Known -> Known
    end.

mark_configured(Configured) ->
    mongoose_system_metrics_state:set(service_configured, Configured).
