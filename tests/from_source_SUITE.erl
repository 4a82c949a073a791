%% @doc Building MongooseIM from source with this project, as doc/building-from-source.md
%% says: the files it tells to delete from MongooseIM's `src/system_metrics/', and the
%% rebar3 dependency line it gives.
%%
%% The delete list and the dependency are read from the guide's examples, as written there.
%%
%% - The delete list is checked against a compiled MongooseIM: the release named by
%%   `MONGOOSEIM_RELEASE' (see `msm_release'), or one made in the suite's directory by
%%   `$MONGOOSEIM_BUILD/bin/make-release' when only `MONGOOSEIM_BUILD' is set; the group skips
%%   without either. Every beam of `lib/mongooseim-*/ebin' is read with `beam_lib' (imports,
%%   atoms, literals and attributes, all there without debug info). The checks are functions
%%   of the list, and `the_checks_catch_wrong_lists' runs them on wrong lists to show that
%%   they fail.
%% - When `MONGOOSEIM_SOURCE' names a MongooseIM source checkout, the list is also checked
%%   against its `src/' (the group skips, saying so, without it).
%% - The dependency: a one-module rebar3 project in the suite's directory, whose rebar.config
%%   holds the guide's dependency with the URL replaced by this repository's root
%%   at the commit under test (`file://ROOT' and `{ref, HEAD}': what is committed;
%%   `MSM_DEP_GIT_URL' names another git URL), is built with `rebar3 compile', and the NIF is
%%   loaded from the result in a fresh `erl'. rebar3 fetches nothing from hex.pm (its cache
%%   directory is the suite's own, and `HEX_CDN' points nowhere); the git fetch runs in
%%   `rebar3 get-deps', since rebar3 refuses git fetches when offline, and `rebar3 compile'
%%   runs with `REBAR_OFFLINE=1'. Cargo's output directory is kept between runs in
%%   `_build/from_source_SUITE/cargo-target' of this repository, so that the crates from
%%   crates.io are compiled once.
%% - The same project, whose application lists mongoose_system_metrics among its
%%   `applications' as the guide tells to do in mongooseim.app.src, is made into a release
%%   by relx, and a node booted from it runs the application and loads the NIF.
-module(from_source_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("kernel/include/file.hrl").

-define(SERVICE, service_mongoose_system_metrics).
-define(KEEP, mongoose_module_metrics).
-define(APP, mongoose_system_metrics).
-define(GUIDE, "doc/building-from-source.md").
-define(NIF, "libmongoose_system_metrics_nif.so").

suite() ->
    [{timetrap, {minutes, 30}}].

all() ->
    [the_guide_gives_the_dependency_and_the_files,
     {group, compiled_tree},
     {group, source_tree},
     the_documented_dependency_builds,
     the_dependency_goes_into_a_release].

groups() ->
    [{compiled_tree, [],
      [the_files_are_mongooseim_s_system_metrics_modules,
       remaining_calls_into_deleted_modules_are_ours,
       no_remaining_module_names_a_deleted_one,
       nothing_is_left_used_only_by_deleted_modules,
       mongoose_module_metrics_stays_in_use,
       our_module_is_a_mongoose_service,
       systools_makes_the_release_only_with_the_files_deleted,
       the_checks_catch_wrong_lists]},
     {source_tree, [],
      [the_files_against_mongooseim_s_source]}].

init_per_suite(Config) ->
    Config.

end_per_suite(_Config) ->
    ok.

init_per_group(compiled_tree, Config) ->
    case release_root(Config) of
        {skip, _} = Skip ->
            Skip;
        Root ->
            Tree = read_tree(Root),
            ct:log("MongooseIM release ~s: ~b modules in ~s",
                   [Root, map_size(maps:get(modules, Tree)), maps:get(ebin, Tree)]),
            %% Kept out of Config, which common_test prints in every case's log.
            persistent_term:put({?MODULE, tree}, Tree),
            Config
    end;
init_per_group(source_tree, Config) ->
    case os:getenv("MONGOOSEIM_SOURCE") of
        Src when Src =:= false; Src =:= "" ->
            {skip, "MONGOOSEIM_SOURCE is not set: the delete list is not checked against a "
                   "MongooseIM source checkout (set it to the root of one to check it)"};
        Src ->
            [{source, Src} | Config]
    end.

end_per_group(compiled_tree, _Config) ->
    _ = persistent_term:erase({?MODULE, tree}),
    ok;
end_per_group(_Group, _Config) ->
    ok.

%% The guide.

the_guide_gives_the_dependency_and_the_files(_Config) ->
    {Name, {git, Url, Ref}} = dependency(),
    ?assertEqual(?APP, Name),
    ?assert(is_list(Url) andalso Url =/= ""),
    ?assertMatch({Kind, [_ | _]} when Kind =:= branch; Kind =:= tag; Kind =:= ref, Ref),
    Block = example(<<"delete">>),
    ?assertMatch(<<"rm ", _/binary>>, Block),
    %% Every word of the command but `rm' and the continuations is one of the files.
    Words = string:lexemes(binary_to_list(Block), " \\\n"),
    Files = ["src/system_metrics/" ++ atom_to_list(M) ++ ".erl" || M <- delete_list()],
    ?assertEqual(["rm" | Files], Words),
    ?assert(lists:member(?SERVICE, delete_list())),
    ct:comment("deletes ~s", [lists:join(", ", [atom_to_list(M) || M <- delete_list()])]).

%% The compiled tree.

the_files_are_mongooseim_s_system_metrics_modules(_Config) ->
    ?assertEqual([], check_family(tree(), delete_list())).

remaining_calls_into_deleted_modules_are_ours(_Config) ->
    Tree = tree(),
    ?assertEqual([], check_calls(Tree, delete_list(), our_exports())),
    Calls = [{M, I} || {M, #{imports := Is}} <- remaining(Tree, delete_list()),
                       {?SERVICE, _, _} = I <- Is],
    ?assertNotEqual([], Calls),
    ct:comment("calls into ~s, all exported by ours: ~0p", [?SERVICE, Calls]).

no_remaining_module_names_a_deleted_one(_Config) ->
    Tree = tree(),
    ?assertEqual([], check_names(Tree, delete_list())),
    Naming = [M || {M, #{refs := Refs}} <- remaining(Tree, delete_list()), lists:member(?SERVICE, Refs)],
    ct:comment("~s is named by ~0p", [?SERVICE, Naming]).

nothing_is_left_used_only_by_deleted_modules(_Config) ->
    ?assertEqual([], check_orphans(tree(), delete_list())).

mongoose_module_metrics_stays_in_use(_Config) ->
    Tree = tree(),
    ?assertEqual([], check_keep(Tree, delete_list())),
    Users = behaviour_users(Tree, delete_list()),
    Callers = [M || {M, #{imports := Is}} <- remaining(Tree, delete_list()), lists:keymember(?KEEP, 1, Is)],
    ct:comment("~b remaining modules declare -behaviour(~s), ~b call it",
               [length(Users), ?KEEP, length(Callers)]).

%% Ours is the module the test node runs, and it has every callback MongooseIM's
%% `mongoose_service' behaviour requires, and every function of MongooseIM's own service
%% that is not a gen_server callback.
our_module_is_a_mongoose_service(_Config) ->
    Tree = tree(),
    OurEbin = filename:join(code:lib_dir(?APP), "ebin"),
    ?assertEqual(filename:join(OurEbin, atom_to_list(?SERVICE) ++ ".beam"), code:which(?SERVICE)),
    {Callbacks, Optional} = behaviour_callbacks(Tree, mongoose_service),
    ?assertNotEqual([], Callbacks),
    ?assertEqual([], (Callbacks -- Optional) -- our_exports()),
    #{exports := Theirs} = maps:get(?SERVICE, maps:get(modules, Tree)),
    GenServer = [{init, 1}, {handle_call, 3}, {handle_cast, 2}, {handle_info, 2}, {terminate, 2},
                 {code_change, 3}, {format_status, 1}, {format_status, 2}],
    %% start_link/1 is called only by MongooseIM's own start/1.
    Api = Theirs -- [{start_link, 1}, {module_info, 0}, {module_info, 1} | GenServer],
    ?assertEqual([], Api -- our_exports()),
    ct:comment("mongoose_service callbacks ~0p (optional ~0p); API ~0p", [Callbacks, Optional, Api]).

%% systools, as relx runs it, refuses a release with both modules (`duplicate_modules'),
%% and makes it with the files deleted and the application added to mongooseim's
%% `applications', as the guide says.
systools_makes_the_release_only_with_the_files_deleted(Config) ->
    Tree = tree(),
    ?assertMatch({error, systools_make, {duplicate_modules, [{{?SERVICE, mongooseim, _}, {?SERVICE, ?APP, _}}]}},
                 make_script(Config, Tree, [])),
    ?assertMatch({ok, _, _}, make_script(Config, Tree, delete_list())).

the_checks_catch_wrong_lists(Config) ->
    Tree = tree(),
    List = delete_list(),
    Ours = our_exports(),
    Fails = fun(Problems) -> ?assertNotEqual([], Problems), Problems end,
    %% Deleting mongoose_module_metrics too: the behaviour is gone, and remaining modules
    %% call it.
    WithKeep = List ++ [?KEEP],
    ct:log("with ~s: ~p~n~p", [?KEEP, Fails(check_keep(Tree, WithKeep)), Fails(check_calls(Tree, WithKeep, Ours))]),
    %% Keeping the collector: it is MongooseIM's, and only a deleted module uses it.
    WithoutCollector = List -- [mongoose_system_metrics_collector],
    ct:log("without the collector: ~p~n~p",
           [Fails(check_family(Tree, WithoutCollector)), Fails(check_orphans(Tree, WithoutCollector))]),
    %% Keeping the sender or the file module: the same.
    [Fails(check_orphans(Tree, List -- [M])) || M <- [mongoose_system_metrics_sender, mongoose_system_metrics_file]],
    %% Keeping the service itself: two modules of the same name.
    WithoutService = List -- [?SERVICE],
    Fails(check_family(Tree, WithoutService)),
    ?assertMatch({error, _, {duplicate_modules, _}}, make_script(Config, Tree, WithoutService)),
    %% Deleting a module others call, or one MongooseIM does not have.
    ct:log("with mongoose_config: ~p", [Fails(check_calls(Tree, List ++ [mongoose_config], Ours))]),
    Fails(check_family(Tree, List ++ [mongoose_system_metrics_none])),
    %% Our module lacking a function a remaining module calls.
    Fails(check_calls(Tree, List, Ours -- [{verify_if_configured, 0}])),
    ok.

%% The source tree.

the_files_against_mongooseim_s_source(Config) ->
    Src = ?config(source, Config),
    Source = read_source(Src),
    List = delete_list(),
    Ours = our_exports(),
    ?assertEqual([], check_source(Source, List, Ours)),
    %% The same checks find the wrong lists.
    [?assertNotEqual([], check_source(Source, Wrong, Ours), Wrong)
     || Wrong <- [List ++ [?KEEP], List -- [mongoose_system_metrics_collector], List -- [?SERVICE],
                  List ++ [mongoose_config]]],
    #{files := Files, others := Others} = Source,
    Users = [F || {F, Ts} <- Others, declares_behaviour(?KEEP, Ts)],
    Callers = lists:usort([{filename:basename(F), C} || {F, Ts} <- Others, C <- remote_calls(?SERVICE, Ts)]),
    ct:comment("~s: ~b files in src/system_metrics, ~b other files; ~b declare -behaviour(~s); calls into ~s: ~0p",
               [Src, length(Files), length(Others), length(Users), ?KEEP, ?SERVICE, Callers]).

%% The dependency.

the_documented_dependency_builds(Config) ->
    Root = repo_root(),
    {?APP, {git, _Url, _Ref}} = dependency(),
    %% This repository at the commit under test (its branch may not be the guide's).
    {Url, Ref} = case os:getenv("MSM_DEP_GIT_URL") of
                     U when U =:= false; U =:= "" ->
                         {0, Head} = msm_release:run(executable("git"), ["-C", Root, "rev-parse", "HEAD"]),
                         {"file://" ++ Root, {ref, string:trim(binary_to_list(Head))}};
                     U ->
                         {U, element(3, element(2, dependency()))}
                 end,
    Dep = {?APP, {git, Url, Ref}},
    {Scratch, Proj} = project_dirs(Config),
    Cache = filename:join(Scratch, "rebar3-cache"),
    ok = filelib:ensure_dir(filename:join([Proj, "src", "x"])),
    ok = filelib:ensure_dir(filename:join([Scratch, "rebar3-global", "x"])),
    ok = filelib:ensure_dir(filename:join(Cache, "x")),
    %% The release (for the next case) is named after this VM, so that its node name is
    %% its own.
    %% The guide's entry of the release's application list.
    {ok, ReleaseTokens, _} = erl_scan:string(binary_to_list(example(<<"release">>)) ++ "."),
    {ok, ReleaseEntry} = erl_parse:parse_term(ReleaseTokens),
    Relx = {relx, [{release, {release_name(), "0.1.0"}, [myapp, ReleaseEntry]}, {dev_mode, false}, {include_erts, false}]},
    ok = file:write_file(filename:join(Proj, "rebar.config"), io_lib:format("{deps, [~p]}.~n~p.~n", [Dep, Relx])),
    ok = file:write_file(filename:join([Proj, "src", "myapp.app.src"]),
                         io_lib:format("~p.~n", [{application, myapp,
                                                  [{description, "MongooseIM stand-in"}, {vsn, "0.1.0"},
                                                   {applications, [kernel, stdlib]}]}])),
    ok = file:write_file(filename:join([Proj, "src", "myapp.erl"]),
                         "-module(myapp).\n-export([ping/0]).\nping() -> mongoose_system_metrics_nif:last_report().\n"),
    ct:log("rebar.config of the project:~n~s", [element(2, file:read_file(filename:join(Proj, "rebar.config")))]),
    Env = child_env(Scratch),
    Rebar3 = executable("rebar3"),
    {T0, _} = timer:tc(fun() -> ok_run(Rebar3, ["get-deps"], Proj, Env) end),
    DepDir = filename:join([Proj, "_build", "default", "lib", atom_to_list(?APP)]),
    %% Cargo's output is kept between runs; the fetched tree has no target/ of its own.
    CargoTarget = filename:join([Root, "_build", "from_source_SUITE", "cargo-target"]),
    case filelib:is_dir(CargoTarget) of
        true ->
            ok;
        false ->
            %% Seeded with a copy of this repository's own build, so that the crates from
            %% crates.io are not compiled again: only the project's own three are, their
            %% paths being other ones. A copy, not links: cargo may rewrite its files.
            ok = filelib:ensure_dir(filename:join(CargoTarget, "x")),
            Built = filename:join([Root, "target", "release"]),
            _ = filelib:is_dir(Built) andalso ok_run(executable("cp"), ["-a", Built, CargoTarget], Root, Env),
            ok
    end,
    ?assertEqual({error, enoent}, file:read_link_info(filename:join(DepDir, "target"))),
    ok = file:make_symlink(CargoTarget, filename:join(DepDir, "target")),
    {T1, _} = timer:tc(fun() -> ok_run(Rebar3, ["compile"], Proj, [{"REBAR_OFFLINE", "1"} | Env]) end),
    %% What was built.
    DepEbin = filename:join(DepDir, "ebin"),
    [?assert(filelib:is_regular(filename:join(DepEbin, F)), F)
     || F <- ["service_mongoose_system_metrics.beam", "mongoose_system_metrics_nif.beam",
              "mongoose_system_metrics.app"]],
    [?assert(filelib:is_regular(filename:join([DepDir, "priv", F])), F)
     || F <- [?NIF, "mongoose_system_metrics_ctl"]],
    MyEbin = filename:join([Proj, "_build", "default", "lib", "myapp", "ebin"]),
    ?assert(filelib:is_regular(filename:join(MyEbin, "myapp.beam"))),
    %% Only the git dependency was locked, and nothing came from hex.pm.
    ?assertMatch({ok, [[{<<"mongoose_system_metrics">>, {git, Url, {ref, _}}, 0}]]},
                 file:consult(filename:join(Proj, "rebar.lock"))),
    ?assertEqual([], filelib:wildcard(filename:join(Cache, "**/hex*"))),
    %% A fresh node with those ebins loads the NIF.
    Eval = "io:format(\"~w.~n\", [{mongoose_system_metrics_nif:last_report(), myapp:ping(),"
           " code:which(service_mongoose_system_metrics), code:priv_dir(mongoose_system_metrics)}]), halt().",
    Out = ok_run(executable("erl"), ["-noshell", "-noinput", "-pa", DepEbin, "-pa", MyEbin, "-eval", Eval], Proj, Env),
    {ok, Tokens, _} = erl_scan:string(lists:last(string:lexemes(binary_to_list(Out), "\n"))),
    {ok, {Ping, MyPing, Which, Priv}} = erl_parse:parse_term(Tokens),
    %% A loaded NIF answers; an unloaded one would raise.
    ?assertEqual({{error, no_report}, {error, no_report}}, {Ping, MyPing}),
    ?assertEqual(filename:join(DepEbin, "service_mongoose_system_metrics.beam"), Which),
    ?assertEqual(filename:join(DepDir, "priv"), Priv),
    ct:comment("rebar3 get-deps ~.1f s, rebar3 compile (with cargo) ~.1f s", [T0 / 1.0e6, T1 / 1.0e6]).

%% The project of the case before, its application listing mongoose_system_metrics among its
%% `applications' as the guide tells to do in mongooseim.app.src, made into a release by
%% relx (`dev_mode' off, as MongooseIM's prod profile): the application is in it, its priv
%% copied whole, and a node booted from it runs it and loads the NIF.
the_dependency_goes_into_a_release(Config) ->
    {Scratch, Proj} = project_dirs(Config),
    DepEbin = filename:join([Proj, "_build", "default", "lib", atom_to_list(?APP), "ebin"]),
    case filelib:is_regular(filename:join(DepEbin, atom_to_list(?APP) ++ ".app")) of
        false -> {skip, "the project of the_documented_dependency_builds was not built"};
        true -> release(Scratch, Proj)
    end.

release(Scratch, Proj) ->
    Env = child_env(Scratch),
    _ = ok_run(executable("rebar3"), ["release"], Proj, [{"REBAR_OFFLINE", "1"} | Env]),
    Name = atom_to_list(release_name()),
    Rel = filename:join([Proj, "_build", "default", "rel", Name]),
    [Lib] = filelib:wildcard(filename:join([Rel, "lib", "mongoose_system_metrics-*"])),
    [?assertMatch({ok, #file_info{type = regular}}, file:read_link_info(filename:join([Lib, "priv", F])), F)
     || F <- [?NIF, "mongoose_system_metrics_ctl"]],
    {ok, [{release, _, _, Apps}]} = file:consult(filename:join([Rel, "releases", "0.1.0", Name ++ ".rel"])),
    ?assertMatch({?APP, _, load}, lists:keyfind(?APP, 1, Apps)),
    Bin = filename:join([Rel, "bin", Name]),
    _ = ok_run(Bin, ["daemon"], Proj, Env),
    try
        Eval = fun(Expr) -> string:trim(binary_to_list(ok_run(Bin, ["eval", Expr], Proj, Env))) end,
        %% Loaded by the boot script, not started: the service starts it.
        ?assertEqual("true", Eval("lists:keymember(mongoose_system_metrics, 1, application:loaded_applications()).")),
        ?assertEqual("false", Eval("lists:keymember(mongoose_system_metrics, 1, application:which_applications()).")),
        %% A loaded NIF answers (an unloaded one would raise), printed as the release prints terms.
        {ok, Answer, _} = erl_scan:string(Eval("mongoose_system_metrics_nif:last_report().") ++ "."),
        ?assertEqual({ok, {error, no_report}}, erl_parse:parse_term(Answer)),
        ?assertEqual("ignore", Eval("service_mongoose_system_metrics:start(#{report => false}).")),
        ?assertEqual("true", Eval("lists:keymember(mongoose_system_metrics, 1, application:which_applications()).")),
        ?assertEqual(lists:flatten(io_lib:format("~p", [filename:join([Lib, "ebin", "service_mongoose_system_metrics.beam"])])),
                     Eval("code:which(service_mongoose_system_metrics)."))
    after
        ok_run(Bin, ["stop"], Proj, Env)
    end.

project_dirs(Config) ->
    Scratch = filename:join(?config(priv_dir, Config), "from_source"),
    {Scratch, filename:join(Scratch, "myapp")}.

release_name() ->
    list_to_atom("msm_from_source_" ++ os:getpid()).

%% The guide's examples.

guide() ->
    {ok, Text} = file:read_file(filename:join(repo_root(), ?GUIDE)),
    Text.

%% The text of the fenced block right after `<!-- example: Name -->'.
example(Name) ->
    [_, After] = binary:split(guide(), <<"<!-- example: ", Name/binary, " -->">>),
    {match, [Block]} = re:run(After, "\\A\\s*```[a-z]*\\n(.*?)```", [dotall, {capture, all_but_first, binary}]),
    Block.

dependency() ->
    {ok, Tokens, _} = erl_scan:string(binary_to_list(example(<<"dependency">>)) ++ "."),
    {ok, Dep} = erl_parse:parse_term(Tokens),
    Dep.

delete_list() ->
    {match, Names} = re:run(example(<<"delete">>), "src/system_metrics/([a-z0-9_]+)\\.erl",
                            [global, {capture, all_but_first, list}]),
    [list_to_atom(N) || [N] <- Names].

%% The repository: the priv of the application is a symlink to erlang/priv of it.
repo_root() ->
    Priv = code:priv_dir(?APP),
    case msm_release:run(executable("git"), ["-C", filename:join([Priv, "..", ".."]), "rev-parse", "--show-toplevel"]) of
        {0, Out} -> string:trim(binary_to_list(Out));
        Error -> error({not_in_a_git_repository, Priv, Error})
    end.

our_exports() ->
    ?SERVICE:module_info(exports).

tree() ->
    persistent_term:get({?MODULE, tree}).

%% The compiled tree.

release_root(Config) ->
    case msm_release:root(1) of
        undefined ->
            case os:getenv("MONGOOSEIM_BUILD") of
                Build when Build =:= false; Build =:= "" ->
                    {skip, msm_release:skip_line()};
                Build ->
                    Dir = filename:join(?config(priv_dir, Config), "mongooseim"),
                    _ = ok_run(filename:join([Build, "bin", "make-release"]), [Dir], ?config(priv_dir, Config), []),
                    Dir
            end;
        Root ->
            Root
    end.

%% Every module of lib/mongooseim-*/ebin: what it imports, every atom it holds (atom table,
%% literals, attributes) but its own name, its behaviours and exports.
read_tree(Root) ->
    [Ebin] = filelib:wildcard(filename:join([Root, "lib", "mongooseim-*", "ebin"])),
    Modules = maps:from_list([read_beam(F) || F <- filelib:wildcard(filename:join(Ebin, "*.beam"))]),
    {ok, [{application, mongooseim, AppProps}]} = file:consult(filename:join(Ebin, "mongooseim.app")),
    #{root => Root, ebin => Ebin, modules => Modules, app => AppProps,
      other_ebins => [D || D <- filelib:wildcard(filename:join([Root, "lib", "*", "ebin"])), D =/= Ebin]}.

read_beam(File) ->
    {ok, {M, [{imports, Imports}, {exports, Exports}, {atoms, Atoms}, {attributes, Attrs}]}} =
        beam_lib:chunks(File, [imports, exports, atoms, attributes]),
    Refs = lists:usort([A || {_, A} <- Atoms] ++ term_atoms(literals(File)) ++ term_atoms(Attrs)) -- [M],
    Behaviours = lists:append([B || {K, B} <- Attrs, K =:= behaviour orelse K =:= behavior]),
    {M, #{file => File, imports => Imports, exports => Exports, refs => Refs, behaviours => Behaviours}}.

%% The literal table: a list of terms, zlib-compressed unless its size word is 0.
literals(File) ->
    case beam_lib:chunks(File, ["LitT"]) of
        {ok, {_, [{"LitT", <<0:32, Table/binary>>}]}} -> decode_literals(Table);
        {ok, {_, [{"LitT", <<_:32, Zipped/binary>>}]}} -> decode_literals(zlib:uncompress(Zipped));
        {error, beam_lib, {missing_chunk, _, _}} -> []
    end.

decode_literals(<<_Count:32, Rest/binary>>) ->
    decode_literals(Rest, []).

decode_literals(<<>>, Acc) -> lists:reverse(Acc);
decode_literals(<<Size:32, Term:Size/binary, Rest/binary>>, Acc) -> decode_literals(Rest, [binary_to_term(Term) | Acc]).

term_atoms(T) -> term_atoms(T, []).

term_atoms(A, Acc) when is_atom(A) -> [A | Acc];
term_atoms([H | T], Acc) -> term_atoms(T, term_atoms(H, Acc));
term_atoms(T, Acc) when is_tuple(T) -> term_atoms(tuple_to_list(T), Acc);
term_atoms(M, Acc) when is_map(M) -> term_atoms(maps:to_list(M), Acc);
term_atoms(_, Acc) -> Acc.

remaining(#{modules := Modules}, List) ->
    lists:sort([{M, Info} || {M, Info} <- maps:to_list(Modules), not lists:member(M, List)]).

%% The checks: each returns the problems it finds with the list, [] when there are none.

%% Each file to delete is a module of mongooseim's and is in its .app; the modules named
%% like the service (service_mongoose_system_metrics, mongoose_system_metrics_*,
%% mongoose_module_metrics) are the list and mongoose_module_metrics.
check_family(#{modules := Modules, app := App}, List) ->
    AppModules = proplists:get_value(modules, App),
    Family = [M || M <- maps:keys(Modules), is_system_metrics(M)],
    [{not_a_mongooseim_module, M} || M <- List, not maps:is_key(M, Modules)]
    ++ [{not_in_mongooseim_app, M} || M <- List, maps:is_key(M, Modules), not lists:member(M, AppModules)]
    ++ [{not_a_system_metrics_module, M} || M <- List, not is_system_metrics(M)]
    ++ [{left_behind, M} || M <- lists:sort(Family -- [?KEEP | List])].

is_system_metrics(M) ->
    Name = atom_to_list(M),
    M =:= ?SERVICE orelse M =:= ?KEEP orelse lists:prefix("mongoose_system_metrics", Name).

%% No remaining module calls a deleted one, except functions of the service that ours
%% exports.
check_calls(Tree, List, OurExports) ->
    [{M, calls, {D, F, A}} || {M, #{imports := Imports}} <- remaining(Tree, List),
                              {D, F, A} <- Imports, lists:member(D, List),
                              not (D =:= ?SERVICE andalso lists:member({F, A}, OurExports))].

%% No remaining module names a deleted one other than the service, even as an atom.
check_names(Tree, List) ->
    [{M, names, D} || {M, #{refs := Refs}} <- remaining(Tree, List), D <- Refs,
                      lists:member(D, List), D =/= ?SERVICE].

%% Every module of mongooseim that a deleted module names is deleted too, or is named by a
%% remaining module (or is the application's callback module).
check_orphans(#{modules := Modules, app := App} = Tree, List) ->
    Remaining = remaining(Tree, List),
    Named = lists:usort(lists:append([Refs || {_, #{refs := Refs}} <- Remaining])
                        ++ [element(1, proplists:get_value(mod, App, {none, []}))]),
    lists:usort([{R, used_only_by_deleted_modules} || D <- List, maps:is_key(D, Modules),
                                                      R <- maps:get(refs, maps:get(D, Modules)),
                                                      maps:is_key(R, Modules), not lists:member(R, List),
                                                      not lists:member(R, Named)]).

%% mongoose_module_metrics is there, not deleted, and remaining modules declare it as their
%% behaviour.
check_keep(#{modules := Modules} = Tree, List) ->
    [{?KEEP, deleted} || lists:member(?KEEP, List)]
    ++ [{?KEEP, not_a_mongooseim_module} || not maps:is_key(?KEEP, Modules)]
    ++ [{?KEEP, no_remaining_module_declares_it} || behaviour_users(Tree, List) =:= []].

behaviour_users(Tree, List) ->
    [M || {M, #{behaviours := Bs}} <- remaining(Tree, List), lists:member(?KEEP, Bs)].

%% The callbacks of a behaviour of the tree, loaded for a moment (no debug info needed).
behaviour_callbacks(#{modules := Modules}, Behaviour) ->
    #{file := File} = maps:get(Behaviour, Modules),
    ?assertEqual(false, code:is_loaded(Behaviour)),
    {ok, Bin} = file:read_file(File),
    {module, Behaviour} = code:load_binary(Behaviour, File, Bin),
    try
        {Behaviour:behaviour_info(callbacks), Behaviour:behaviour_info(optional_callbacks)}
    after
        code:purge(Behaviour),
        code:delete(Behaviour),
        code:purge(Behaviour)
    end.

%% systools:make_script/2 for the release with this application added to mongooseim's
%% `applications' and the modules of List taken out of mongooseim's .app, as a build from
%% the changed source gives it.
make_script(Config, #{ebin := Ebin, app := App, root := Root, other_ebins := OtherEbins}, List) ->
    Dir = msm_test:fresh_dir(Config, "systools"),
    AppEbin = filename:join([Dir, "lib", filename:basename(filename:dirname(Ebin)), "ebin"]),
    ok = filelib:ensure_dir(filename:join(AppEbin, "x")),
    App1 = lists:keyreplace(modules, 1, App, {modules, proplists:get_value(modules, App) -- List}),
    App2 = lists:keyreplace(applications, 1, App1, {applications, proplists:get_value(applications, App) ++ [?APP]}),
    ok = file:write_file(filename:join(AppEbin, "mongooseim.app"), io_lib:format("~p.~n", [{application, mongooseim, App2}])),
    [RelFile] = filelib:wildcard(filename:join([Root, "releases", "*", "mongooseim.rel"])),
    {ok, [{release, Name, Erts, Apps}]} = file:consult(RelFile),
    OurEbin = filename:join(code:lib_dir(?APP), "ebin"),
    {ok, [{application, ?APP, OurApp}]} = file:consult(filename:join(OurEbin, atom_to_list(?APP) ++ ".app")),
    Rel = filename:join(Dir, "mongooseim"),
    ok = file:write_file(Rel ++ ".rel", io_lib:format("~p.~n", [{release, Name, Erts, Apps ++ [{?APP, proplists:get_value(vsn, OurApp)}]}])),
    Result = systools:make_script(Rel, [{path, [AppEbin, OurEbin | OtherEbins]}, {outdir, Dir},
                                        silent, no_dot_erlang, no_warn_sasl]),
    ct:log("systools:make_script/2 with ~p deleted: ~p", [List, Result]),
    Result.

%% The source tree: the files of src/system_metrics, and the other files of src/ and
%% include/, as tokens (comments are not tokens).
read_source(Src) ->
    Dir = filename:join([Src, "src", "system_metrics"]),
    Files = [{list_to_atom(filename:basename(F, ".erl")), F, tokens(F)}
             || F <- lists:sort(filelib:wildcard(filename:join(Dir, "*.erl")))],
    Others = [{F, tokens(F)} || F <- filelib:wildcard(filename:join([Src, "src", "**", "*.{erl,hrl}"]))
                                     ++ filelib:wildcard(filename:join([Src, "include", "**", "*.hrl"])),
                                filename:dirname(F) =/= Dir],
    #{files => Files, others => Others}.

%% Every file to delete is in src/system_metrics and is the module of its name;
%% mongoose_module_metrics stays and a remaining file declares it as its behaviour; no
%% other file is there (a new one would have to be looked at); no remaining file names a
%% deleted module other than the service, or calls a function of it that ours lacks.
check_source(#{files := Files, others := Others}, List, OurExports) ->
    Names = [N || {N, _, _} <- Files],
    Remaining = Others ++ [{F, Ts} || {N, F, Ts} <- Files, not lists:member(N, List)],
    [{not_in_src_system_metrics, M} || M <- List, not lists:member(M, Names)]
    ++ [{F, is_not_module, N} || {N, F, Ts} <- Files, module_attribute(Ts) =/= N]
    ++ [{?KEEP, deleted} || lists:member(?KEEP, List)]
    ++ [{?KEEP, not_in_src_system_metrics} || not lists:member(?KEEP, Names)]
    ++ [{?KEEP, no_remaining_file_declares_it} || not lists:any(fun({_, Ts}) -> declares_behaviour(?KEEP, Ts) end, Remaining)]
    ++ [{left_behind, N} || N <- Names -- [?KEEP | List]]
    ++ lists:usort([{F, names, A} || {F, Ts} <- Remaining, {atom, _, A} <- Ts, lists:member(A, List -- [?SERVICE])])
    ++ [{F, calls, {?SERVICE, Fun, Arity}} || {F, Ts} <- Remaining, {Fun, Arity} <- remote_calls(?SERVICE, Ts),
                                              not lists:member({Fun, Arity}, OurExports)].

module_attribute([{'-', _}, {atom, _, module}, {'(', _}, {atom, _, M}, {')', _} | _]) -> M;
module_attribute([_ | Rest]) -> module_attribute(Rest);
module_attribute([]) -> none.

tokens(File) ->
    {ok, Bin} = file:read_file(File),
    case erl_scan:string(unicode:characters_to_list(Bin)) of
        {ok, Tokens, _} -> Tokens;
        {error, Info, Location} -> error({cannot_scan, File, Info, Location})
    end.

%% Mod:Fun(...) calls in the tokens, with their arity (commas at the top level of the
%% argument list).
remote_calls(Mod, [{atom, _, Mod}, {':', _}, {atom, _, Fun}, {'(', _} | Rest]) ->
    [{Fun, arity(Rest)} | remote_calls(Mod, Rest)];
remote_calls(Mod, [_ | Rest]) ->
    remote_calls(Mod, Rest);
remote_calls(_, []) ->
    [].

arity([{')', _} | _]) -> 0;
arity(Tokens) -> arity(Tokens, 0, 1).

arity([{Close, _} | _], 0, N) when Close =:= ')' -> N;
arity([{',', _} | Rest], 0, N) -> arity(Rest, 0, N + 1);
arity([{Open, _} | Rest], D, N) when Open =:= '('; Open =:= '['; Open =:= '{'; Open =:= '<<';
                                     Open =:= 'fun'; Open =:= 'case'; Open =:= 'if'; Open =:= 'receive';
                                     Open =:= 'try'; Open =:= 'begin'; Open =:= 'maybe' ->
    arity(Rest, D + 1, N);
arity([{Close, _} | Rest], D, N) when Close =:= ')'; Close =:= ']'; Close =:= '}'; Close =:= '>>'; Close =:= 'end' ->
    arity(Rest, D - 1, N);
arity([_ | Rest], D, N) -> arity(Rest, D, N);
arity([], _, N) -> N.

declares_behaviour(B, [{'-', _}, {atom, _, Attr}, {'(', _}, {atom, _, B}, {')', _} | _])
  when Attr =:= behaviour; Attr =:= behavior ->
    true;
declares_behaviour(B, [_ | Rest]) ->
    declares_behaviour(B, Rest);
declares_behaviour(_, []) ->
    false.

%% Running programs.

executable(Name) ->
    case os:find_executable(Name, search_path()) of
        false -> error({not_found, Name, search_path()});
        Path -> Path
    end.

%% PATH, with ~/.cargo/bin added when cargo is not on it.
search_path() ->
    Path = os:getenv("PATH", ""),
    Cargo = filename:join([os:getenv("HOME", "/"), ".cargo", "bin"]),
    case os:find_executable("cargo", Path) =:= false andalso filelib:is_dir(Cargo) of
        true -> Path ++ ":" ++ Cargo;
        false -> Path
    end.

%% The environment of the rebar3 and erl runs: no variable of the outer rebar3 or VM, a
%% rebar3 cache and global configuration of their own, and hex.pm nowhere to be reached.
child_env(Scratch) ->
    Unset = [{Name, false} || Var <- os:getenv(), [Name | _] <- [string:split(Var, "=")],
                              lists:prefix("REBAR_", Name) orelse lists:prefix("HEX_", Name)
                              orelse lists:member(Name, ["ERL_LIBS", "ERL_FLAGS", "ERL_AFLAGS", "ERL_ZFLAGS"])],
    Unset ++ [{"PATH", search_path()},
              {"REBAR_CACHE_DIR", filename:join(Scratch, "rebar3-cache")},
              {"REBAR_GLOBAL_CONFIG_DIR", filename:join(Scratch, "rebar3-global")},
              {"REBAR_COLOR", "none"},
              {"HEX_CDN", "http://127.0.0.1:9"},
              %% Cargo builds from its local cache only: no test leaves the machine.
              {"CARGO_NET_OFFLINE", "true"}].

%% Runs a program in Dir that has to succeed: its output.
ok_run(Executable, Args, Dir, Env) ->
    case run(Executable, Args, Dir, Env) of
        {0, Out} -> Out;
        {Status, Out} -> error({failed, filename:basename(Executable), Args, {exit_status, Status}, Out})
    end.

%% Runs a program in Dir: {ExitStatus, Output}, the output logged.
run(Executable, Args, Dir, Env) ->
    {Status, Out} = msm_release:run(Executable, Args, #{cd => Dir, env => Env, timeout => 1200000}),
    ct:log("~s ~s (in ~s): exit ~b~n~s", [Executable, lists:join(" ", Args), Dir, Status, Out]),
    {Status, Out}.
