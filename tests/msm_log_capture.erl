%% @doc A logger handler that forwards every event to a test process, so a suite can
%% assert on exactly what the service logged.
-module(msm_log_capture).
-export([start/0, stop/0, collected/0, texts/1]).
-export([log/2]).

-define(HANDLER, msm_log_capture).

-spec start() -> ok.
start() ->
    _ = logger:remove_handler(?HANDLER),
    ok = logger:add_handler(?HANDLER, ?MODULE, #{level => all, config => #{pid => self()}}).

-spec stop() -> ok.
stop() ->
    _ = logger:remove_handler(?HANDLER),
    ok.

%% @private logger handler callback.
-spec log(logger:log_event(), logger:handler_config()) -> ok.
log(#{level := Level, msg := Msg}, #{config := #{pid := Pid}}) ->
    Pid ! {?MODULE, Level, Msg},
    ok.

%% @doc Events received so far by the calling process: `{Level, Report}' for reports.
%% Handlers run in the process that logs, so whatever was logged before the caller
%% learnt of it (a call answered, a process seen restarted) is there already.
-spec collected() -> [{logger:level(), term()}].
collected() ->
    collect([]).

collect(Acc) ->
    receive
        {?MODULE, Level, {report, Report}} -> collect([{Level, Report} | Acc]);
        {?MODULE, Level, Other} -> collect([{Level, Other} | Acc])
    after 0 ->
        lists:reverse(Acc)
    end.

%% @doc The texts of warnings that contain Needle.
-spec texts([{logger:level(), term()}]) -> fun((string()) -> [binary()]).
texts(Events) ->
    fun(Needle) ->
            [Text || {warning, #{text := Text}} <- Events,
                     string:find(Text, Needle) =/= nomatch]
    end.
