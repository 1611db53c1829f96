#!/usr/bin/env escript
%%! +S 1 +P 2000000
%% Erlang/OTP side of Rain's benchmarks: the same workloads, one per invocation.
%%   escript bench/erlang/bench.escript <name> quick|full
%% Prints one line {"bench":"erlang.<name>","value":N} on stdout (or "skip").
%% Runs on 1 scheduler (+S 1). Exits non-zero when a workload fails its check.
%% remote.* also start a second node (erl -name, +S 1) on 127.0.0.1 for the run.
-mode(compile).

main([Name, Size]) ->
    Quick = Size =:= "quick",
    case run(Name, Quick) of
        skip -> io:format("skip~n");
        V -> io:format("{\"bench\":\"erlang.~s\",\"value\":~p}~n", [Name, V])
    end;
main(_) ->
    io:format(standard_error, "usage: bench.escript <name> quick|full~n", []),
    halt(2).

n(true, Q, _) -> Q;
n(false, _, F) -> F.

now_us() -> erlang:monotonic_time(microsecond).

idle() -> receive stop -> ok end.

check(true, _) -> ok;
check(false, What) ->
    io:format(standard_error, "check failed: ~s~n", [What]),
    kill_peer(),
    halt(1).

spawn_n(N) -> [spawn(fun idle/0) || _ <- lists:seq(1, N)].
stop_all(Ps) -> [P ! stop || P <- Ps], ok.

run("spawn.us_per_process", Q) ->
    N = n(Q, 20000, 100000),
    stop_all(spawn_n(1000)),
    T0 = now_us(), Ps = spawn_n(N), T1 = now_us(),
    check(length(Ps) =:= N, "spawned"),
    stop_all(Ps),
    (T1 - T0) / N;
run("spawn.bytes_per_process", Q) ->
    N = n(Q, 20000, 100000),
    erlang:garbage_collect(),
    M0 = erlang:memory(processes),
    Ps = spawn_n(N),
    timer:sleep(100),
    M1 = erlang:memory(processes),
    stop_all(Ps),
    (M1 - M0) / N;
run("spawn.1m.seconds", Q) ->
    N = n(Q, 200000, 1000000),
    T0 = now_us(), Ps = spawn_n(N), T1 = now_us(),
    check(length(Ps) =:= N, "spawned"),
    stop_all(Ps),
    (T1 - T0) / 1.0e6;
run("local.oneway.msgs_per_s", Q) -> flow(1, n(Q, 200000, 1000000));
run("local.fanin.msgs_per_s", Q) -> flow(100, n(Q, 200000, 1000000));
%% Rain's cluster.aggregate: one sender -> receiver pair per scheduler, all at once; total over the wall time.
run("cluster.aggregate.msgs_per_s", Q) ->
    N = n(Q, 200000, 1000000),
    P = erlang:system_info(schedulers_online),
    Self = self(),
    T0 = now_us(),
    [spawn(fun() -> Self ! {pair, flow(1, N)} end) || _ <- lists:seq(1, P)],
    [receive {pair, _} -> ok after 120000 -> exit(pair_timeout) end || _ <- lists:seq(1, P)],
    T1 = now_us(),
    (P * N) / ((T1 - T0) / 1.0e6);
run("local.pingpong.rt_per_s", Q) ->
    N = n(Q, 50000, 200000),
    Pong = spawn(fun pong/0),
    T0 = now_us(),
    ping(Pong, 0, N),
    T1 = now_us(),
    Pong ! stop,
    N / ((T1 - T0) / 1.0e6);
run("local.call.per_s", Q) ->
    N = n(Q, 50000, 200000),
    {ok, S} = gen_server:start(bench_srv_mod(), 0, []),
    T0 = now_us(),
    call_loop(S, 0, N),
    T1 = now_us(),
    check(gen_server:call(S, get) =:= N, "server count"),
    N / ((T1 - T0) / 1.0e6);
run("local.call.conc100k_per_s", Q) ->
    N = n(Q, 20000, 100000),
    Servers = list_to_tuple([element(2, gen_server:start(bench_srv_mod(), 0, [])) || _ <- lists:seq(1, 4)]),
    Self = self(),
    T0 = now_us(),
    [spawn(fun() -> Self ! {replied, gen_server:call(element(I rem 4 + 1, Servers), inc)} end) || I <- lists:seq(1, N)],
    collect_replies(N),
    T1 = now_us(),
    Handled = lists:sum([gen_server:call(S, get) || S <- tuple_to_list(Servers)]),
    check(Handled =:= N, "every call handled once"),
    N / ((T1 - T0) / 1.0e6);
run("supervisor.restart.us", Q) ->
    Rounds = n(Q, 200, 1000),
    load_sup_mods(),
    register(bench_tester, self()),
    _Warm = [restart_rounds(Rounds) || _ <- lists:seq(1, n(Q, 5, 20))],
    Samples = restart_rounds(Rounds),
    unregister(bench_tester),
    lists:nth(length(Samples) div 2 + 1, lists:sort(Samples));
run("supervisor.start10k.ms", Q) ->
    N = n(Q, 2000, 10000),
    load_sup_mods(),
    %% run three times, as the Rain workload does (its first two warm up V8); the third is measured
    start_warm(N, fun() ->
        {ok, Sup} = supervisor:start_link(bench_sup, simple),
        [{ok, _} = supervisor:start_child(Sup, []) || _ <- lists:seq(1, N)],
        Sup
    end);
run("supervisor.start10k_static.ms", Q) ->
    N = n(Q, 2000, 10000),
    load_sup_mods(),
    start_warm(N, fun() -> {ok, Sup} = supervisor:start_link(bench_sup, {static, N}), Sup end);
run("remote." ++ W, Q) ->
    try remote(W, Q) of
        V -> kill_peer(), V
    catch C:R:St ->
        io:format(standard_error, "remote.~s failed: ~p:~p~n~p~n", [W, C, R, St]),
        kill_peer(),
        halt(1)
    end;
run(Other, _) ->
    io:format(standard_error, "unknown workload ~s~n", [Other]),
    halt(2).

%% --- remote.*: two distributed nodes in two OS processes on 127.0.0.1 --------
%% Node a is this escript; node b is a child `erl` (also +S 1) started per run,
%% which gets a gen_server `sink` shipped over distribution (like Rain's
%% test/fixtures/remote-bench.ts and dist-node.ts). b is killed at the end,
%% on failure too (check/2 and the catch below), and halts by itself when our
%% end of its stdin closes (so it cannot outlive this escript).

-define(COOKIE, rainbench).

remote("connect.ms", _) ->
    B = start_peer(),
    T0 = now_us(),
    Ok = net_kernel:connect_node(B),
    T1 = now_us(),
    check(Ok =:= true andalso lists:member(B, nodes()), "connected to b"),
    check(rpc:call(B, erlang, node, []) =:= B, "rpc on b"),
    (T1 - T0) / 1000;
remote("oneway.msgs_per_s", Q) ->
    Sink = start_sink(start_peer()),
    _ = send_ints(Sink, 100000),
    send_ints(Sink, n(Q, 200000, 1000000));
remote("call.seq_per_s", Q) ->
    Sink = start_sink(start_peer()),
    ok = gen_server:call(Sink, reset),
    seq_calls(Sink, 1000),
    N = n(Q, 5000, 20000),
    T0 = now_us(),
    seq_calls(Sink, N),
    N / ((now_us() - T0) / 1.0e6);
remote("call.conc100_per_s", Q) ->
    Sink = start_sink(start_peer()),
    ok = gen_server:call(Sink, reset),
    seq_calls(Sink, 1000),
    Per = n(Q, 100, 500),
    Self = self(),
    T0 = now_us(),
    Cs = [spawn(fun() -> Self ! {caller_done, self(), catch calls(Sink, Per)} end) || _ <- lists:seq(1, 100)],
    Res = [receive {caller_done, C, R} -> R after 60000 -> timeout end || C <- Cs],
    T1 = now_us(),
    check(lists:all(fun(R) -> R =:= ok end, Res), "all 100 callers finished their calls"),
    100 * Per / ((T1 - T0) / 1.0e6);
remote("payload1k.mb_per_s", Q) ->
    Sink = start_sink(start_peer()),
    _ = send_blobs(Sink, 1000),
    N = n(Q, 20000, 100000),
    N * 1024 / 1048576 / (send_blobs(Sink, N) / 1.0e6);
remote("down.ms", _) ->
    B = start_peer(),
    true = net_kernel:connect_node(B),
    {Port, OsPid} = persistent_term:get(bench_peer),
    %% The kill goes through a shell started beforehand: os:cmd would first
    %% spawn one, which alone takes several ms here (Rain's child.kill is a
    %% direct syscall). The shell echoes once kill has returned.
    Sh = open_port({spawn_executable, "/bin/sh"}, [{line, 256}, use_stdio, exit_status]),
    erlang:monitor_node(B, true),
    timer:sleep(10),
    T0 = now_us(),
    port_command(Sh, "kill -9 " ++ OsPid ++ "; echo killed\n"),
    Down = receive {nodedown, B} -> now_us() after 10000 -> timeout end,
    check(Down =/= timeout, "nodedown within 10 s of SIGKILL"),
    Killed = receive {Sh, {data, {eol, "killed"}}} -> now_us() after 5000 -> timeout end,
    port_close(Sh),
    wait_exit(Port),
    check(persistent_term:get(bench_peer, none) =:= none, "node b's OS process ended"),
    Killed =/= timeout andalso io:format(standard_error, "erlang: remote.down.ms: kill returned after ~.2f ms~n", [(Killed - T0) / 1000]),
    (Down - T0) / 1000;
remote(Other, _) ->
    io:format(standard_error, "unknown workload remote.~s~n", [Other]),
    halt(2).

%% Node names carry our OS pid, so parallel or stale runs cannot collide.
peer_node(Prefix) -> list_to_atom(Prefix ++ os:getpid() ++ "@127.0.0.1").

%% Starts distribution here (node a) and node b as a child OS process; waits
%% until b prints "ready <os pid>". Returns b's node name (not yet connected).
start_peer() ->
    _ = os:cmd("epmd -daemon"),
    {ok, _} = net_kernel:start([peer_node("a"), longnames]),
    erlang:set_cookie(?COOKIE),
    B = peer_node("b"),
    Eval = "io:format(\"ready ~s~n\", [os:getpid()]),"
           " spawn(fun() -> io:get_line(''), halt() end),"   % stdin closed: a is gone
           " timer:apply_after(300000, erlang, halt, []).",   % last resort
    Port = open_port({spawn_executable, os:find_executable("erl")},
                     [{args, ["-name", atom_to_list(B), "-setcookie", atom_to_list(?COOKIE),
                              "-noshell", "+S", "1", "-eval", Eval]},
                      {env, [{"ESCRIPT_NAME", false}]},   % else b shows up in ps as bench.escript
                      {line, 4096}, exit_status, use_stdio, stderr_to_stdout]),
    receive
        {Port, {data, {eol, "ready " ++ OsPid}}} ->
            persistent_term:put(bench_peer, {Port, OsPid}),
            check(erlang:port_info(Port, os_pid) =:= {os_pid, list_to_integer(OsPid)}, "b runs as the port's OS process"),
            B;
        {Port, {exit_status, S}} -> check(false, "node b exited with status " ++ integer_to_list(S))
    after 20000 -> check(false, "node b did not start within 20 s")
    end.

%% SIGKILLs node b if it is still running and waits for its OS process to end.
kill_peer() ->
    case persistent_term:get(bench_peer, none) of
        none -> ok;
        {Port, OsPid} -> _ = os:cmd("kill -9 " ++ OsPid), wait_exit(Port)
    end.

wait_exit(Port) ->
    receive
        {Port, {exit_status, _}} -> persistent_term:erase(bench_peer)
    after 5000 -> io:format(standard_error, "node b still running 5 s after kill -9~n", [])
    end.

%% Ships the sink module to b, starts it registered as `sink`; returns {sink, B}.
start_sink(B) ->
    true = net_kernel:connect_node(B),
    {Mod, Bin} = compile_src(sink_src()),
    {module, Mod} = rpc:call(B, code, load_binary, [Mod, "bench_rsink.erl", Bin]),
    {ok, _} = rpc:call(B, gen_server, start, [{local, sink}, Mod, [], []]),
    {sink, B}.

%% The sink counts every message and checks that integers (0, 1, ...) and
%% {blob, Seq, <<1024 bytes>>} (Seq 0, 1, ...) each arrive in order; it keeps
%% the first anomaly. State: {Count, NextInt, NextBlob, Error}.
sink_src() -> [
    "-module(bench_rsink).",
    "-behaviour(gen_server).",
    "-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).",
    "init([]) -> {ok, {0, 0, 0, ok}}.",
    "handle_call(count, _, S) -> {reply, element(1, S), S}; "
    "handle_call(status, _, {C, _, _, E} = S) -> {reply, {C, E}, S}; "
    "handle_call(reset, _, _) -> {reply, ok, {0, 0, 0, ok}}.",
    "handle_cast(_, S) -> {noreply, S}.",
    "handle_info(I, {C, I, Q, E}) when is_integer(I) -> {noreply, {C + 1, I + 1, Q, E}}; "
    "handle_info({blob, Q, B}, {C, I, Q, E}) when byte_size(B) =:= 1024 -> {noreply, {C + 1, I, Q + 1, E}}; "
    "handle_info(M, {C, I, Q, ok}) -> {noreply, {C + 1, I, Q, {unexpected, M, next_int, I, next_blob, Q}}}; "
    "handle_info(_, {C, I, Q, E}) -> {noreply, {C + 1, I, Q, E}}."
].

%% Sends integers 0..N-1 to the sink, then asks the count until it is N;
%% returns messages per second.
send_ints(Sink, N) ->
    ok = gen_server:call(Sink, reset),
    T0 = now_us(),
    send_ints(Sink, 0, N),
    wait_count(Sink, N, T0 + 60000000),
    N / ((now_us() - T0) / 1.0e6).

send_ints(_, N, N) -> ok;
send_ints(Sink, I, N) -> Sink ! I, send_ints(Sink, I + 1, N).

%% Sends N {blob, Seq, 1 KB} messages; returns the microseconds until all arrived.
send_blobs(Sink, N) ->
    ok = gen_server:call(Sink, reset),
    Data = <<0:8192>>,
    T0 = now_us(),
    send_blobs(Sink, Data, 0, N),
    wait_count(Sink, N, T0 + 60000000),
    now_us() - T0.

send_blobs(_, _, N, N) -> ok;
send_blobs(Sink, Data, I, N) -> Sink ! {blob, I, Data}, send_blobs(Sink, Data, I + 1, N).

%% Polls the sink (1 ms apart) until it counted N, then checks it saw no anomaly.
wait_count(Sink, N, Deadline) ->
    C = gen_server:call(Sink, count, 60000),
    if
        C < N ->
            check(now_us() < Deadline, "sink received all messages within 60 s"),
            timer:sleep(1),
            wait_count(Sink, N, Deadline);
        true ->
            {Count, Err} = gen_server:call(Sink, status, 60000),
            Err =/= ok andalso io:format(standard_error, "sink: ~P~n", [Err, 12]),
            check(Count =:= N andalso Err =:= ok, "sink got exactly N messages, in order")
    end.

%% N sequential gen_server calls; each reply is the sink's count, 0 after reset.
seq_calls(Sink, N) -> check(calls(Sink, N) =:= ok, "every call replied 0").

calls(_, 0) -> ok;
calls(Sink, N) ->
    case gen_server:call(Sink, count) of
        0 -> calls(Sink, N - 1);
        R -> {bad_reply, R}
    end.

%% N messages in total from S senders to one receiver; the receiver checks each
%% sender's sequence numbers arrive in order and counts all of them.
flow(S, Total) ->
    Per = Total div S,
    Self = self(),
    Sink = spawn(fun() -> sink(#{}, S * Per, Self) end),
    T0 = now_us(),
    [spawn(fun() -> send_seq(Sink, I, 1, Per) end) || I <- lists:seq(1, S)],
    receive {done, Got} -> ok after 60000 -> Got = timeout end,
    T1 = now_us(),
    check(Got =:= S * Per, "all messages received in order"),
    (S * Per) / ((T1 - T0) / 1.0e6).

send_seq(_, _, I, N) when I > N -> ok;
send_seq(Sink, Id, I, N) -> Sink ! {Id, I}, send_seq(Sink, Id, I + 1, N).

sink(_, 0, Parent) -> Parent ! {done, 0};
sink(Seen, Left, Parent) -> sink(Seen, Left, Parent, 0).
sink(_, 0, Parent, Count) -> Parent ! {done, Count};
sink(Seen, Left, Parent, Count) ->
    receive
        {Id, I} ->
            Prev = maps:get(Id, Seen, 0),
            case I =:= Prev + 1 of
                true -> sink(Seen#{Id => I}, Left - 1, Parent, Count + 1);
                false -> Parent ! {done, out_of_order}
            end
    end.

pong() ->
    receive
        {ping, From, I} -> From ! {pong, I}, pong();
        stop -> ok
    end.

ping(_, N, N) -> ok;
ping(Pong, I, N) ->
    Pong ! {ping, self(), I},
    receive {pong, I} -> ping(Pong, I + 1, N) end.

collect_replies(0) -> ok;
collect_replies(K) -> receive {replied, _} -> collect_replies(K - 1) end.

call_loop(_, N, N) -> ok;
call_loop(S, I, N) ->
    R = gen_server:call(S, inc),
    check(R =:= I + 1, "call reply"),
    call_loop(S, I + 1, N).

%% ms of Start() (a supervisor with N children), run three times; the third is measured.
start_warm(N, Start) ->
    lists:last([begin
        T0 = now_us(),
        Sup = Start(),
        T1 = now_us(),
        check(proplists:get_value(active, supervisor:count_children(Sup)) =:= N, "children"),
        unlink(Sup), exit(Sup, shutdown),
        wait_down(Sup),
        (T1 - T0) / 1000 * (10000 / N)
    end || _ <- [1, 2, 3]]).

%% A fresh supervisor whose child is crashed Rounds times, as the Rain workload does.
restart_rounds(Rounds) ->
    {ok, Sup} = supervisor:start_link(bench_sup, {one_for_one, Rounds + 10}),
    receive up -> ok end,
    Samples = [restart_once() || _ <- lists:seq(1, Rounds)],
    check(proplists:get_value(active, supervisor:count_children(Sup)) =:= 1, "one child"),
    unlink(Sup), exit(Sup, shutdown),
    wait_down(Sup),
    Samples.

wait_down(Pid) ->
    Ref = monitor(process, Pid),
    receive {'DOWN', Ref, process, Pid, _} -> ok end.

%% Crash a supervised child; time until its replacement's init has run (it sends `up`).
restart_once() ->
    Old = whereis(bench_child),
    T0 = now_us(),
    Old ! crash,
    receive up -> ok end,
    now_us() - T0.

%% Supervisor and child callback modules, built at run time like bench_srv.
load_sup_mods() ->
    logger:set_primary_config(level, none),
    load_mod(bench_child, [
        "-module(bench_child).",
        "-behaviour(gen_server).",
        "-export([start_link/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).",
        "start_link(named) -> gen_server:start_link({local, bench_child}, bench_child, notify, []); "
        "start_link(anon) -> gen_server:start_link(bench_child, [], []).",
        "init(notify) -> bench_tester ! up, {ok, 0}; init([]) -> {ok, 0}.",
        "handle_call(ping, _, S) -> {reply, pong, S}.",
        "handle_cast(_, S) -> {noreply, S}.",
        "handle_info(crash, S) -> {stop, crashed, S}."
    ]),
    load_mod(bench_sup, [
        "-module(bench_sup).",
        "-behaviour(supervisor).",
        "-export([init/1]).",
        "init({one_for_one, MaxR}) -> {ok, {#{strategy => one_for_one, intensity => MaxR, period => 3600}, "
        "[#{id => child, start => {bench_child, start_link, [named]}}]}}; "
        "init(simple) -> {ok, {#{strategy => simple_one_for_one, intensity => 1, period => 5}, "
        "[#{id => c, start => {bench_child, start_link, [anon]}}]}}; "
        "init({static, N}) -> {ok, {#{strategy => one_for_one, intensity => 1, period => 5}, "
        "[#{id => I, start => {bench_child, start_link, [anon]}} || I <- lists:seq(1, N)]}}."
    ]).

load_mod(Name, Src) ->
    case code:is_loaded(Name) of
        {file, _} -> ok;
        false ->
            {Mod, Bin} = compile_src(Src),
            {module, Mod} = code:load_binary(Mod, atom_to_list(Name) ++ ".erl", Bin),
            ok
    end.

%% Compiles a module given as a list of source forms (one per string).
compile_src(Src) ->
    Forms = [begin {ok, T, _} = erl_scan:string(L), {ok, F} = erl_parse:parse_form(T), F end || L <- Src],
    {ok, Mod, Bin} = compile:forms(Forms),
    {Mod, Bin}.

%% A gen_server callback module built at run time (escripts cannot define one).
bench_srv_mod() ->
    case code:is_loaded(bench_srv) of
        {file, _} -> bench_srv;
        false ->
            Src = [
                "-module(bench_srv).",
                "-behaviour(gen_server).",
                "-export([init/1, handle_call/3, handle_cast/2]).",
                "init(N) -> {ok, N}.",
                "handle_call(inc, _, N) -> {reply, N + 1, N + 1}; handle_call(get, _, N) -> {reply, N, N}.",
                "handle_cast(_, N) -> {noreply, N}."
            ],
            Forms = [begin {ok, T, _} = erl_scan:string(L), {ok, F} = erl_parse:parse_form(T), F end || L <- Src],
            {ok, Mod, Bin} = compile:forms(Forms),
            {module, Mod} = code:load_binary(Mod, "bench_srv.erl", Bin),
            Mod
    end.
