%% @doc `mongoose_system_metrics_ctl install|uninstall' against real MongooseIM releases:
%% what install adds and uninstall takes away again, byte for byte; what it refuses; and a
%% started node running the installed copy instead of MongooseIM's own module.
%%
%% With `MONGOOSEIM_BUILD' (a folder with `bin/make-release') every case gets a fresh
%% release of its own. With only `MONGOOSEIM_RELEASE', the cases that start no node run on
%% that release and put it back as it was; the node cases need a release of their own.
-module(install_SUITE).
-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("kernel/include/file.hrl").

-define(SERVICE, service_mongoose_system_metrics).
-define(CTL, "mongoose_system_metrics_ctl").
%% Names and ports no other suite uses; only the running_node group starts its node.
-define(SNAME, "msm_inst1").
-define(C2S_PORT, "16222").
-define(HTTP_PORT, "16280").

all() ->
    [{group, files}, {group, running_node}].

groups() ->
    [{files, [], [install_then_uninstall_leaves_the_release_as_it_was,
                  a_vm_args_without_a_final_newline_comes_back_exactly,
                  install_is_idempotent,
                  another_build_replaces_the_previous_one,
                  refuses_a_directory_that_is_not_a_release,
                  refuses_a_missing_directory,
                  refuses_a_release_started_in_embedded_mode,
                  refuses_a_lib_dir_it_did_not_make,
                  refuses_a_vm_args_that_is_a_link,
                  refuses_to_run_outside_a_built_application,
                  uninstall_with_nothing_installed_says_so,
                  the_default_node_is_mongooseims_own]},
     {running_node, [], [the_node_runs_the_installed_module,
                         the_ctl_answers_from_the_running_node]}].

%% Cases that need no release at all.
-define(NO_RELEASE, [refuses_a_directory_that_is_not_a_release, refuses_a_missing_directory,
                     the_default_node_is_mongooseims_own]).

init_per_suite(Config) ->
    case source() of
        none -> {skip, msm_release:skip_line()};
        Source -> [{source, Source} | Config]
    end.

%% A build to make fresh releases from, or else the one release given.
source() ->
    Build = os:getenv("MONGOOSEIM_BUILD", ""),
    case Build =/= "" andalso filelib:is_regular(filename:join([Build, "bin", "make-release"])) of
        true -> {build, Build};
        false ->
            case msm_release:root(1) of
                undefined -> none;
                Root -> {release, Root}
            end
    end.

end_per_suite(_Config) ->
    ok.

init_per_group(running_node, Config) ->
    case ?config(source, Config) of
        {release, _} ->
            {skip, "starts a node: needs MONGOOSEIM_BUILD (a folder with bin/make-release), so that "
                   "the node is one of this suite's own releases"};
        {build, Build} ->
            Root = make_release(Build, filename:join(?config(priv_dir, Config), "running"), ?SNAME),
            {0, _} = ctl(["install", Root]),
            WasAlive = is_alive(),
            %% A node of an interrupted run would hold the name and the ports.
            _ = msm_release:bin(Root, ["stop"]),
            try
                ok = msm_release:start(Root)
            catch
                Class:Reason:Stack ->
                    _ = msm_release:bin(Root, ["stop"]),
                    erlang:raise(Class, Reason, Stack)
            end,
            [{root, Root}, {was_alive, WasAlive} | Config]
    end;
init_per_group(_Group, Config) ->
    Config.

end_per_group(running_node, Config) ->
    ok = msm_release:stop(?config(root, Config)),
    %% This node was made distributed only to reach the release's node.
    ?config(was_alive, Config) orelse net_kernel:stop(),
    ok;
end_per_group(_Group, _Config) ->
    ok.

init_per_testcase(Case, Config) ->
    case {?config(root, Config), lists:member(Case, ?NO_RELEASE), ?config(source, Config)} of
        {undefined, false, {build, Build}} ->
            Root = make_release(Build, filename:join(?config(priv_dir, Config), atom_to_list(Case)), "msm_inst0"),
            [{root, Root}, {shared, false}, {case_release, Root} | Config];
        {undefined, false, {release, Root}} ->
            case installed(Root) of
                [] -> [{root, Root}, {shared, true}, {snapshot, snapshot(Root)} | Config];
                Found -> {fail, {"MONGOOSEIM_RELEASE already holds mongoose_system_metrics", Found}}
            end;
        _ ->
            [{shared, false} | Config]
    end.

end_per_testcase(_Case, Config) ->
    case {?config(shared, Config), ?config(case_release, Config), ?config(tc_status, Config)} of
        {true, _, _} -> restore(?config(root, Config), ?config(snapshot, Config));
        %% A case's own release is kept only when the case failed, to be looked at.
        {false, Root, ok} when Root =/= undefined -> ok = file:del_dir_r(Root);
        _ -> ok
    end.

%% Releases and the command.

make_release(Build, Dir, SName) ->
    case msm_release:run(filename:join([Build, "bin", "make-release"]),
                         [Dir, "--sname", SName, "--c2s-port", ?C2S_PORT, "--http-port", ?HTTP_PORT]) of
        {0, _} -> Dir;
        {Status, Output} -> ct:fail({make_release_failed, Dir, Status, Output})
    end.

%% The command as built, run as an operator runs it.
ctl(Args) ->
    ctl(msm_release:ctl_path(), Args).

ctl(Script, Args) ->
    ctl(Script, Args, []).

ctl(Script, Args, Env) ->
    {Status, Output} = msm_release:run(os:find_executable("escript"), [Script | Args], #{env => Env}),
    ct:log("~ts ~ts~n-> ~b~n~ts", [Script, lists:join(" ", Args), Status, Output]),
    {Status, Output}.

%% The operator guide's command line of example Name, for this release.
guide_args(Name, Root) ->
    [_, After] = binary:split(guide(), iolist_to_binary(["<!-- example: ", Name, " -->"])),
    [_, Rest] = binary:split(After, <<"```">>),
    [_Language, Block] = binary:split(Rest, <<"\n">>),
    [Code | _] = binary:split(Block, <<"```">>),
    [?CTL, Verb, _GuideRoot] = string:lexemes(string:trim(binary_to_list(Code)), " "),
    [Verb, Root].

guide() ->
    read(filename:join([code:priv_dir(mongoose_system_metrics), "..", "..", "doc", "operator-guide.md"])).

version() ->
    {ok, [{application, mongoose_system_metrics, Props}]} =
        file:consult(filename:join(code:lib_dir(mongoose_system_metrics, ebin), "mongoose_system_metrics.app")),
    proplists:get_value(vsn, Props).

dest(Root) ->
    dest(Root, version()).

dest(Root, Vsn) ->
    filename:join([Root, "lib", "mongoose_system_metrics-" ++ Vsn]).

vm_args(Root) ->
    filename:join([Root, "etc", "vm.args"]).

read(Path) ->
    {ok, Bytes} = file:read_file(Path),
    Bytes.

mode(Path) ->
    {ok, #file_info{mode = Mode}} = file:read_link_info(Path),
    Mode band 8#7777.

contains(Output, Part) ->
    case msm_test:contains(Output, Part) of
        true -> ok;
        false -> ct:fail({missing_from_output, Part, Output})
    end.

%% Every entry of the tree, without following links: type, mode, and the SHA-256 of a
%% file's content or a link's target. A shared release may have a running node, whose
%% logs and database are left out.
tree(Root, Config) ->
    Skip = case ?config(shared, Config) of
               true -> fun(Name) -> lists:member(Name, ["log", "var"]) orelse lists:prefix("Mnesia.", Name) end;
               _ -> fun(_) -> false end
           end,
    {ok, Names} = file:list_dir(Root),
    lists:sort(lists:append([entries(Root, N) || N <- Names, not Skip(N)])).

entries(Root, Rel) ->
    Path = filename:join(Root, Rel),
    {ok, #file_info{type = Type, mode = Mode}} = file:read_link_info(Path),
    Entry = {Rel, Type, Mode band 8#7777},
    case Type of
        directory ->
            {ok, Names} = file:list_dir(Path),
            [Entry | lists:append([entries(Root, filename:join(Rel, N)) || N <- Names])];
        regular ->
            [{Entry, crypto:hash(sha256, read(Path))}];
        symlink ->
            {ok, Target} = file:read_link(Path),
            [{Entry, Target}];
        _ ->
            [Entry]
    end.

same_tree(Before, After) ->
    case {Before -- After, After -- Before} of
        {[], []} -> ok;
        {Gone, New} -> ct:fail({tree_changed, [{gone_or_changed, Gone}, {new_or_changed, New}]})
    end.

%% What of ours a release holds: lib directories, our own temporary ones, marker lines.
installed(Root) ->
    Lib = filename:join(Root, "lib"),
    Markers = [L || L <- binary:split(read(vm_args(Root)), <<"\n">>, [global]),
                    msm_test:contains(L, "mongoose_system_metrics_ctl install")],
    filelib:wildcard("mongoose_system_metrics-*", Lib) ++ filelib:wildcard(".mongoose_system_metrics-*", Lib) ++ Markers.

%% A shared release is put back as it was: etc/vm.args (a link made by a case removed),
%% and whatever a case left in lib/ (it held nothing of ours before).
snapshot(Root) ->
    {read(vm_args(Root)), mode(vm_args(Root))}.

restore(Root, {Bytes, Mode}) ->
    VmArgs = vm_args(Root),
    _ = file:delete(real_vm_args(Root)),
    case file:read_link_info(VmArgs) of
        {ok, #file_info{type = regular}} -> ok;
        _ -> ok = file:delete(VmArgs)
    end,
    case file:read_file(VmArgs) of
        {ok, Bytes} -> ok;
        _ -> ok = file:write_file(VmArgs, Bytes)
    end,
    ok = file:change_mode(VmArgs, Mode),
    Lib = filename:join(Root, "lib"),
    [ok = file:del_dir_r(filename:join(Lib, D))
     || D <- filelib:wildcard("mongoose_system_metrics-*", Lib) ++ filelib:wildcard(".mongoose_system_metrics-*", Lib)],
    ok.

real_vm_args(Root) ->
    filename:join([Root, "etc", "vm.args.install_SUITE"]).

%% What install must have made: the application's files with their modes, and our two
%% lines at the end of etc/vm.args after the bytes it had before.
assert_installed(Root, VmArgsBefore) ->
    Dest = dest(Root),
    Ebin = code:lib_dir(mongoose_system_metrics, ebin),
    Priv = code:priv_dir(mongoose_system_metrics),
    {ok, [{application, _, Props}]} = file:consult(filename:join(Ebin, "mongoose_system_metrics.app")),
    Beams = [atom_to_list(M) ++ ".beam" || M <- proplists:get_value(modules, Props)],
    Nifs = filelib:wildcard("*.so", Priv),
    ?assertNotEqual([], Nifs),
    ?assertEqual(lists:sort(["mongoose_system_metrics.app" | Beams]), lists:sort(element(2, file:list_dir(filename:join(Dest, "ebin"))))),
    ?assertEqual(lists:sort([?CTL | Nifs]), lists:sort(element(2, file:list_dir(filename:join(Dest, "priv"))))),
    [?assertEqual({F, 8#755}, {F, mode(F)}) || F <- [Dest, filename:join(Dest, "ebin"), filename:join(Dest, "priv")]],
    [begin
         Installed = filename:join([Dest, "ebin", F]),
         ?assertEqual(read(filename:join(Ebin, F)), read(Installed)),
         ?assertEqual({F, 8#644}, {F, mode(Installed)})
     end || F <- ["mongoose_system_metrics.app" | Beams]],
    [begin
         Installed = filename:join([Dest, "priv", F]),
         ?assertEqual(read(filename:join(Priv, F)), read(Installed)),
         ?assertEqual({F, 8#755}, {F, mode(Installed)})
     end || F <- [?CTL | Nifs]],
    ?assertEqual([], filelib:wildcard(".mongoose_system_metrics-*", filename:join(Root, "lib"))),
    Text = read(vm_args(Root)),
    Pa = iolist_to_binary(["-pa ", Dest, "/ebin"]),
    Start = case binary:last(VmArgsBefore) of $\n -> VmArgsBefore; _ -> <<VmArgsBefore/binary, "\n">> end,
    Size = byte_size(Start),
    <<Start:Size/binary, Ours/binary>> = Text,
    [Marker, Pa, <<>>] = binary:split(Ours, <<"\n">>, [global]),
    ?assertMatch(<<"## ", _/binary>>, Marker),
    [contains(Marker, Part) || Part <- ["Added by " ?CTL " install", "removed by " ?CTL " uninstall"]
                               ++ ["newline" || Start =/= VmArgsBefore]],
    ok.

%% Cases.

%% Install, then uninstall, as the operator guide shows them: the whole tree, every file's
%% content and mode, as before.
install_then_uninstall_leaves_the_release_as_it_was(Config) ->
    Root = ?config(root, Config),
    Before = tree(Root, Config),
    VmArgs = read(vm_args(Root)),
    {0, Installed} = ctl(guide_args("install", Root)),
    [contains(Installed, Part) || Part <- [dest(Root), vm_args(Root), "-pa " ++ dest(Root) ++ "/ebin",
                                           "bin/mongooseim stop", "bin/mongooseim start"]],
    assert_installed(Root, VmArgs),
    %% The guide shows the marker line as it is.
    Lines = binary:split(read(vm_args(Root)), <<"\n">>, [global]),
    [Marker, _Pa, <<>>] = lists:nthtail(length(Lines) - 3, Lines),
    contains(guide(), Marker),
    ?assertNotEqual(Before, tree(Root, Config)),
    {0, Uninstalled} = ctl(guide_args("uninstall", Root)),
    [contains(Uninstalled, Part) || Part <- ["removed " ++ dest(Root), vm_args(Root), "bin/mongooseim stop"]],
    same_tree(Before, tree(Root, Config)).

%% A vm.args that ends without a newline, with a mode of its own: install keeps the mode
%% and uninstall gives back the last line without a newline.
a_vm_args_without_a_final_newline_comes_back_exactly(Config) ->
    Root = ?config(root, Config),
    VmArgs = vm_args(Root),
    Node = msm_release:node_name(Root),
    ok = file:write_file(VmArgs, string:trim(read(VmArgs), trailing, "\n")),
    ok = file:change_mode(VmArgs, 8#640),
    Before = tree(Root, Config),
    Bytes = read(VmArgs),
    ?assertNotEqual($\n, binary:last(Bytes)),
    {0, _} = ctl(["install", Root]),
    assert_installed(Root, Bytes),
    ?assertEqual(8#640, mode(VmArgs)),
    ?assertEqual(Node, msm_release:node_name(Root)),
    {0, _} = ctl(["uninstall", Root]),
    ?assertEqual(Bytes, read(VmArgs)),
    same_tree(Before, tree(Root, Config)).

%% The same build installed twice: the second run changes nothing and says so.
install_is_idempotent(Config) ->
    Root = ?config(root, Config),
    Before = tree(Root, Config),
    {0, _} = ctl(["install", Root]),
    Installed = tree(Root, Config),
    {0, Again} = ctl(["install", Root]),
    contains(Again, "already installed: nothing changed"),
    same_tree(Installed, tree(Root, Config)),
    %% The installed copy of the command sees the same build.
    {0, FromCopy} = ctl(filename:join([dest(Root), "priv", ?CTL]), ["install", Root]),
    contains(FromCopy, "already installed: nothing changed"),
    same_tree(Installed, tree(Root, Config)),
    {0, _} = ctl(["uninstall", Root]),
    same_tree(Before, tree(Root, Config)).

%% Another version, then a rebuild of the same version: each replaces our previous copy
%% and its line, and says so; uninstall still leaves the release as it was.
another_build_replaces_the_previous_one(Config) ->
    Root = ?config(root, Config),
    Before = tree(Root, Config),
    VmArgs = read(vm_args(Root)),
    OtherCtl = other_build(Config, "0.0.1-old"),
    {0, _} = ctl(OtherCtl, ["install", Root]),
    Old = dest(Root, "0.0.1-old"),
    ?assert(filelib:is_dir(Old)),
    {0, Replaced} = ctl(["install", Root]),
    contains(Replaced, "replaced " ++ Old),
    ?assertNot(filelib:is_dir(Old)),
    assert_installed(Root, VmArgs),
    %% A rebuild: same version, other bytes.
    Beam = filename:join([dest(Root), "ebin", atom_to_list(?SERVICE) ++ ".beam"]),
    ok = file:write_file(Beam, <<(read(Beam))/binary, 0>>),
    {0, Rebuilt} = ctl(["install", Root]),
    contains(Rebuilt, "replaced the previous copy at " ++ dest(Root)),
    assert_installed(Root, VmArgs),
    {0, _} = ctl(["uninstall", Root]),
    same_tree(Before, tree(Root, Config)).

%% A copy of the built application with another version in its .app.
other_build(Config, Vsn) ->
    Dir = filename:join([?config(priv_dir, Config), "other-build-" ++ Vsn, "mongoose_system_metrics"]),
    Ebin = code:lib_dir(mongoose_system_metrics, ebin),
    Priv = code:priv_dir(mongoose_system_metrics),
    ok = filelib:ensure_dir(filename:join([Dir, "ebin", "x"])),
    ok = filelib:ensure_dir(filename:join([Dir, "priv", "x"])),
    [{ok, _} = file:copy(filename:join(Ebin, F), filename:join([Dir, "ebin", F])) || F <- filelib:wildcard("*.beam", Ebin)],
    {ok, [{application, App, Props}]} = file:consult(filename:join(Ebin, "mongoose_system_metrics.app")),
    ok = file:write_file(filename:join([Dir, "ebin", "mongoose_system_metrics.app"]),
                         io_lib:format("~p.~n", [{application, App, lists:keystore(vsn, 1, Props, {vsn, Vsn})}])),
    [begin
         {ok, _} = file:copy(filename:join(Priv, F), filename:join([Dir, "priv", F])),
         ok = file:change_mode(filename:join([Dir, "priv", F]), 8#755)
     end || F <- [?CTL | filelib:wildcard("*.so", Priv)]],
    filename:join([Dir, "priv", ?CTL]).

%% A directory that is not a release, or lacks MongooseIM's application: exit 2, the path
%% and what is missing named, nothing written.
refuses_a_directory_that_is_not_a_release(Config) ->
    Plain = filename:join(?config(priv_dir, Config), "not-a-release"),
    ok = filelib:ensure_dir(filename:join([Plain, "etc", "x"])),
    ok = file:write_file(filename:join(Plain, "README"), <<"not a release\n">>),
    NoMongooseIM = filename:join(?config(priv_dir, Config), "no-mongooseim"),
    [ok = filelib:ensure_dir(filename:join([NoMongooseIM, D, "x"])) || D <- ["etc", "lib/other-1.0/ebin", "releases"]],
    ok = file:write_file(filename:join([NoMongooseIM, "etc", "vm.args"]), <<"-sname x@localhost\n">>),
    [begin
         Before = tree(Dir, Config),
         [begin
              {2, Out} = ctl([Verb, Dir]),
              [contains(Out, Part) || Part <- [Dir, "is not a MongooseIM release" | Missing]],
              same_tree(Before, tree(Dir, Config))
          end || Verb <- ["install", "uninstall"]]
     end || {Dir, Missing} <- [{Plain, ["no etc/vm.args", "no lib/mongooseim-*/ebin/ejabberd_app.beam", "no releases/"]},
                               {NoMongooseIM, ["no lib/mongooseim-*/ebin/ejabberd_app.beam"]}]],
    ok.

refuses_a_missing_directory(Config) ->
    Missing = filename:join(?config(priv_dir, Config), "no-such-release"),
    [begin
         {2, Out} = ctl([Verb, Missing]),
         [contains(Out, Part) || Part <- [Missing, "no such directory"]],
         ?assertEqual({error, enoent}, file:read_link_info(Missing))
     end || Verb <- ["install", "uninstall"]],
    ok.

%% `-mode embedded' would load only the boot script's code: MongooseIM's module would run.
refuses_a_release_started_in_embedded_mode(Config) ->
    Root = ?config(root, Config),
    VmArgs = vm_args(Root),
    ok = file:write_file(VmArgs, <<(read(VmArgs))/binary, "-mode embedded\n">>),
    Before = tree(Root, Config),
    {2, Out} = ctl(["install", Root]),
    [contains(Out, Part) || Part <- [VmArgs, "-mode embedded", "MongooseIM's own service_mongoose_system_metrics"]],
    same_tree(Before, tree(Root, Config)).

%% A lib directory of our name that install did not make is neither replaced nor removed.
refuses_a_lib_dir_it_did_not_make(Config) ->
    Root = ?config(root, Config),
    Dest = dest(Root),
    ok = filelib:ensure_dir(filename:join([Dest, "ebin", "x"])),
    ok = file:write_file(filename:join([Dest, "ebin", "someone_elses.beam"]), <<"not ours">>),
    Before = tree(Root, Config),
    {2, Out} = ctl(["install", Root]),
    [contains(Out, Part) || Part <- [Dest, "was not made by " ?CTL " install"]],
    same_tree(Before, tree(Root, Config)),
    {0, Nothing} = ctl(["uninstall", Root]),
    [contains(Nothing, Part) || Part <- ["nothing to uninstall", Dest]],
    same_tree(Before, tree(Root, Config)).

%% Nothing is written through a link: a vm.args that is one is refused.
refuses_a_vm_args_that_is_a_link(Config) ->
    Root = ?config(root, Config),
    VmArgs = vm_args(Root),
    ok = file:rename(VmArgs, real_vm_args(Root)),
    ok = file:make_symlink(filename:basename(real_vm_args(Root)), VmArgs),
    Before = tree(Root, Config),
    {2, Out} = ctl(["install", Root]),
    [contains(Out, Part) || Part <- [VmArgs, "symbolic link"]],
    same_tree(Before, tree(Root, Config)).

%% The command installs the application it belongs to: a copy standing alone refuses.
refuses_to_run_outside_a_built_application(Config) ->
    Root = ?config(root, Config),
    Before = tree(Root, Config),
    [begin
         Script = filename:join([?config(priv_dir, Config) | Parts]),
         ok = filelib:ensure_dir(Script),
         {ok, _} = file:copy(msm_release:ctl_path(), Script),
         {2, Out} = ctl(Script, ["install", Root]),
         contains(Out, "run it from a built application: .../mongoose_system_metrics/priv/" ?CTL)
     end || Parts <- [["loose", "priv", ?CTL], ["loose", ?CTL]]],
    same_tree(Before, tree(Root, Config)).

uninstall_with_nothing_installed_says_so(Config) ->
    Root = ?config(root, Config),
    Before = tree(Root, Config),
    {0, Out} = ctl(["uninstall", Root]),
    contains(Out, "nothing to uninstall"),
    same_tree(Before, tree(Root, Config)).

%% Without --node the command asks MongooseIM's default node, and says so when it cannot
%% reach it (a cookie no node has makes sure of that).
the_default_node_is_mongooseims_own(_Config) ->
    {2, Usage} = ctl([]),
    [contains(Usage, Part) || Part <- ["usage:", "--node NAME@HOST", "install RELEASE_ROOT", "uninstall RELEASE_ROOT",
                                       "mongooseim@localhost", "ejabberd"]],
    {2, Unreachable} = ctl(msm_release:ctl_path(), ["status"], [{"MONGOOSEIM_COOKIE", "msm_inst_no_such_cookie"}]),
    [contains(Unreachable, Part) || Part <- ["cannot reach node mongooseim@localhost", "--node mongooseim@localhost", "usage:"]],
    {2, NoHost} = ctl(["--node", "mongooseim", "status"]),
    contains(NoHost, "--node takes NAME@HOST").

%% On the started node, the service module and the application's priv are the installed
%% copy's, ahead of MongooseIM's own module of the same name; the NIF loads from there.
the_node_runs_the_installed_module(Config) ->
    Root = ?config(root, Config),
    Dest = dest(Root),
    [_] = filelib:wildcard(filename:join([Root, "lib", "mongooseim-*", "ebin", atom_to_list(?SERVICE) ++ ".beam"])),
    ?assertEqual(filename:join([Dest, "ebin", atom_to_list(?SERVICE) ++ ".beam"]),
                 msm_release:rpc(Root, code, which, [?SERVICE])),
    ?assertEqual(filename:join(Dest, "priv"), msm_release:rpc(Root, code, priv_dir, [mongoose_system_metrics])),
    ?assertEqual({module, mongoose_system_metrics_nif},
                 msm_release:rpc(Root, code, ensure_loaded, [mongoose_system_metrics_nif])).

%% The command reaches the node by --node and the cookie of a file, as built and as
%% installed; the cookie is never taken from the command line. Only
%% our module has status/0 (the command says "not loaded", exit 1, for MongooseIM's own).
the_ctl_answers_from_the_running_node(Config) ->
    Root = ?config(root, Config),
    Node = atom_to_list(msm_release:node_name(Root)),
    Cookie = atom_to_list(msm_release:cookie(Root)),
    ?assertEqual(?SNAME "@localhost", Node),
    CookieFile = filename:join(?config(priv_dir, Config), "cookie"),
    ok = file:write_file(CookieFile, [Cookie, "\n"]),
    [begin
         {0, Out} = ctl(Script, ["--node", Node, "--cookie-file", CookieFile, "status"]),
         ?assertMatch(#{<<"mode">> := _, <<"mode_reason">> := _}, msm_json:decode(Out))
     end || Script <- [msm_release:ctl_path(), filename:join([dest(Root), "priv", ?CTL])]],
    {2, WrongCookie} = ctl(msm_release:ctl_path(), ["--node", Node, "status"],
                           [{"MONGOOSEIM_COOKIE", "msm_inst_wrong_cookie"}]),
    contains(WrongCookie, "cannot reach node " ++ Node),
    {2, OnTheCommandLine} = ctl(["--node", Node, "--cookie", Cookie, "status"]),
    contains(OnTheCommandLine, "--cookie would show the cookie"),
    {2, NotAFile} = ctl(["--node", Node, "--cookie-file", "/dev/null", "status"]),
    contains(NotAFile, "not a regular file").
