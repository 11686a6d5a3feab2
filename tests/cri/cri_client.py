#!/usr/bin/python3
"""A small CRI client for tests/integration/cri.bats: it calls a CRI runtime
(containerd's CRI plugin) the way the kubelet does, with the kubelet's labels
and annotations, so that the runtime builds config.json as it would for a
real pod.

The gRPC code is generated at run time from cri-api's api.proto (Debian's
golang-github-kubernetes-cri-api-dev) into --gen-dir; nothing generated is
kept in the tree.

    cri_client.py [--address SOCK] [--gen-dir DIR] [--proto FILE] COMMAND ...
      gen                      only generate the gRPC code
      run-pod ...              RunPodSandbox; prints the pod id
      run-container POD ...    CreateContainer, StartContainer, wait for its
                               exit, print its log; exits with its status
      spec ID, pod-spec POD    the OCI spec containerd made for a container,
                               or for a pod's sandbox
      remove-pod POD           StopPodSandbox, then RemovePodSandbox

Errors: one line on stderr (the gRPC status and its message), exit 1.
"""

import argparse
import json
import os
import sys
import time
import zlib

# Where Debian 13's package puts the proto; scripts/install-deps unpacks
# the same package under build/apt/root on Debian 12.
PROTO_SUFFIX = "usr/share/gocode/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DEFAULTS = ["/" + PROTO_SUFFIX, os.path.join(REPO, "build/apt/root", PROTO_SUFFIX)]

# What the kubelet masks and makes read-only in /proc for a container with
# the default procMount.
MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def fail(msg):
    print("cri_client: " + msg, file=sys.stderr)
    sys.exit(1)


def find_proto(given):
    for p in [given] if given else PROTO_DEFAULTS:
        if os.path.isfile(p):
            return p
    fail("no cri-api api.proto (looked at %s): install golang-github-kubernetes-cri-api-dev"
         % ", ".join([given] if given else PROTO_DEFAULTS))


def load_api(gen_dir, proto):
    """Generate api_pb2 and api_pb2_grpc into GEN_DIR (once) and import them.
    The proto's gogoproto import and options only steer Go's generator and
    change nothing on the wire; that file is not packaged, so they are left
    out of the copy we compile."""
    os.makedirs(gen_dir, exist_ok=True)
    if not os.path.exists(os.path.join(gen_dir, "api_pb2_grpc.py")):
        try:
            from grpc_tools import protoc
        except ImportError:
            fail("python3 grpc_tools is missing: install python3-grpc-tools")
        with open(find_proto(proto)) as f:
            text = [line for line in f if "gogoproto" not in line]
        tmp = os.path.join(gen_dir, "api.proto")
        with open(tmp, "w") as f:
            f.writelines(text)
        rc = protoc.main(["protoc", "-I" + gen_dir, "--python_out=" + gen_dir,
                          "--grpc_python_out=" + gen_dir, tmp])
        if rc != 0:
            fail("grpc_tools.protoc failed on %s (exit %d)" % (tmp, rc))
    sys.path.insert(0, gen_dir)
    try:
        import grpc
    except ImportError:
        fail("python3 grpc is missing: install python3-grpcio")
    import api_pb2
    import api_pb2_grpc
    return grpc, api_pb2, api_pb2_grpc


def pairs(items, what):
    out = {}
    for kv in items or []:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            fail("%s %r: use KEY=VALUE" % (what, kv))
        out[k] = v
    return out


def mapping(api, text):
    """CONTAINER:HOST:LENGTH, as an IDMapping."""
    try:
        c, h, n = (int(x) for x in text.split(":"))
    except ValueError:
        fail("--userns %r: use CONTAINER_ID:HOST_ID:LENGTH" % text)
    return api.IDMapping(container_id=c, host_id=h, length=n)


def namespaces(api, args, pod):
    """hostNetwork: true (no CNI) unless --pod-network; the kubelet's PID
    and IPC defaults; with --userns, hostUsers: false (mode POD with the
    pod's mappings)."""
    ns = api.NamespaceOption(network=api.POD if args.pod_network else api.NODE,
                             pid=api.POD if pod else api.CONTAINER, ipc=api.POD)
    if args.userns:
        m = [mapping(api, u) for u in args.userns]
        ns.userns_options.CopyFrom(api.UserNamespace(mode=api.POD, uids=m, gids=m))
    return ns


def run_pod(rt, api, args):
    labels = {"io.kubernetes.pod.name": args.name, "io.kubernetes.pod.namespace": args.namespace,
              "io.kubernetes.pod.uid": args.uid}
    labels.update(pairs(args.label, "--label"))
    annotations = {"kubernetes.io/config.source": "api", "kubernetes.io/config.seen": "2026-01-01T00:00:00Z"}
    annotations.update(pairs(args.annotation, "--annotation"))
    sc = api.LinuxSandboxSecurityContext(
        namespace_options=namespaces(api, args, True),
        seccomp=api.SecurityProfile(profile_type=api.SecurityProfile.Unconfined))
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=args.name, uid=args.uid, namespace=args.namespace,
                                        attempt=args.attempt),
        log_directory=args.log_dir, labels=labels, annotations=annotations,
        linux=api.LinuxPodSandboxConfig(security_context=sc))
    resp = rt.RunPodSandbox(api.RunPodSandboxRequest(config=config, runtime_handler=args.handler))
    # CreateContainer carries the pod's config again, as the kubelet sends it.
    with open(args.config_out, "wb") as f:
        f.write(config.SerializeToString())
    print(resp.pod_sandbox_id)


def container_config(api, args, pod_config):
    pod = pod_config.metadata
    labels = {"io.kubernetes.container.name": args.name, "io.kubernetes.pod.name": pod.name,
              "io.kubernetes.pod.namespace": pod.namespace, "io.kubernetes.pod.uid": pod.uid}
    annotations = {"io.kubernetes.container.hash": "%08x" % zlib.crc32(args.name.encode()),
                   "io.kubernetes.container.restartCount": "0",
                   "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
                   "io.kubernetes.container.terminationMessagePolicy": "File",
                   "io.kubernetes.pod.terminationGracePeriod": "30"}
    mounts = []
    for m in args.mount or []:
        host, sep, dest = m.partition(":")
        if not sep:
            fail("--mount %r: use HOST_PATH:CONTAINER_PATH" % m)
        mount = api.Mount(host_path=host, container_path=dest, propagation=api.PROPAGATION_PRIVATE)
        if args.userns:
            # hostUsers: false: the kubelet gives every mount the pod's mappings.
            mount.uidMappings.extend(mapping(api, u) for u in args.userns)
            mount.gidMappings.extend(mapping(api, u) for u in args.userns)
        mounts.append(mount)
    sc = api.LinuxContainerSecurityContext(
        namespace_options=namespaces(api, args, False),
        run_as_user=api.Int64Value(value=args.user), run_as_group=api.Int64Value(value=args.group),
        masked_paths=MASKED_PATHS, readonly_paths=READONLY_PATHS,
        seccomp=api.SecurityProfile(profile_type=api.SecurityProfile.Unconfined))
    return api.ContainerConfig(
        metadata=api.ContainerMetadata(name=args.name, attempt=0),
        image=api.ImageSpec(image=args.image), command=args.command,
        working_dir="/", mounts=mounts, labels=labels, annotations=annotations,
        log_path="%s/0.log" % args.name,
        linux=api.LinuxContainerConfig(security_context=sc,
                                       resources=api.LinuxContainerResources(oom_score_adj=1000)))


def cri_log_lines(path):
    """The messages of a CRI log file: "TIME STREAM P|F MESSAGE" per line,
    P for a partial line that the next one continues."""
    out, partial = [], ""
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) < 3:
                fail("%s: not a CRI log line: %r" % (path, line))
            msg = parts[3] if len(parts) == 4 else ""
            if parts[2] == "P":
                partial += msg
            else:
                out.append(partial + msg)
                partial = ""
    return out


def run_container(rt, api, args):
    pod_config = api.PodSandboxConfig()
    with open(args.pod_config, "rb") as f:
        pod_config.ParseFromString(f.read())
    # The kubelet asks first whether the image is there (it has no registry to pull from here).
    if not rt.image.ImageStatus(api.ImageStatusRequest(image=api.ImageSpec(image=args.image))).image.id:
        fail("image %s is not in containerd's k8s.io namespace" % args.image)
    cid = rt.CreateContainer(api.CreateContainerRequest(
        pod_sandbox_id=args.pod, config=container_config(api, args, pod_config),
        sandbox_config=pod_config)).container_id
    if args.id_out:
        with open(args.id_out, "w") as f:
            f.write(cid + "\n")
    rt.StartContainer(api.StartContainerRequest(container_id=cid))
    deadline = time.monotonic() + args.timeout
    while True:
        st = rt.ContainerStatus(api.ContainerStatusRequest(container_id=cid)).status
        if st.state == api.CONTAINER_EXITED:
            break
        if time.monotonic() > deadline:
            fail("container %s has not exited after %d s" % (cid, args.timeout))
        time.sleep(0.1)
    for line in cri_log_lines(st.log_path):
        print(line)
    sys.stdout.flush()
    sys.exit(st.exit_code)


def spec(rt, api, args):
    """containerd's verbose status carries the OCI spec it made: what the
    runtime gets as config.json."""
    if args.cmd == "pod-spec":
        st = rt.PodSandboxStatus(api.PodSandboxStatusRequest(pod_sandbox_id=args.id, verbose=True))
    else:
        st = rt.ContainerStatus(api.ContainerStatusRequest(container_id=args.id, verbose=True))
    info = json.loads(st.info.get("info", "{}"))
    if "runtimeSpec" not in info:
        fail("containerd gave no runtimeSpec for %s" % args.id)
    print(json.dumps(info["runtimeSpec"]))


def remove_pod(rt, api, args):
    rt.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=args.pod))
    rt.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=args.pod))


def parse_args():
    p = argparse.ArgumentParser(description="a CRI client that calls like the kubelet")
    p.add_argument("--address", default="/run/containerd/containerd.sock")
    p.add_argument("--gen-dir", required=True, help="where the generated gRPC code goes")
    p.add_argument("--proto", help="cri-api's api.proto (default: Debian's package)")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("gen")

    def userns(q):
        q.add_argument("--userns", action="append", metavar="CONTAINER:HOST:LENGTH",
                       help="hostUsers: false with this mapping (repeat for more)")
        q.add_argument("--pod-network", action="store_true", help="hostNetwork: false (needs CNI)")

    q = sub.add_parser("run-pod")
    q.add_argument("--name", required=True)
    q.add_argument("--uid", required=True)
    q.add_argument("--namespace", default="default")
    q.add_argument("--attempt", type=int, default=0)
    q.add_argument("--handler", default="", help="the RuntimeClass's handler")
    q.add_argument("--log-dir", required=True)
    q.add_argument("--label", action="append")
    q.add_argument("--annotation", action="append")
    q.add_argument("--config-out", required=True, help="file for the pod's config")
    userns(q)

    q = sub.add_parser("run-container")
    q.add_argument("pod")
    q.add_argument("--pod-config", required=True, help="what run-pod --config-out wrote")
    q.add_argument("--name", required=True)
    q.add_argument("--image", required=True)
    q.add_argument("--mount", action="append", metavar="HOST_PATH:CONTAINER_PATH")
    q.add_argument("--user", type=int, required=True)
    q.add_argument("--group", type=int, required=True)
    q.add_argument("--timeout", type=int, default=60)
    q.add_argument("--id-out", help="file for the container's id")
    q.add_argument("command", nargs="+")
    userns(q)

    for c in ("spec", "pod-spec"):
        sub.add_parser(c).add_argument("id")

    q = sub.add_parser("remove-pod")
    q.add_argument("pod")
    return p.parse_args()


class Runtime:
    """Both CRI services on one channel."""

    def __init__(self, grpc, stubs, address):
        channel = grpc.insecure_channel("unix://" + address)
        self.rt = stubs.RuntimeServiceStub(channel)
        self.image = stubs.ImageServiceStub(channel)

    def __getattr__(self, name):
        return getattr(self.rt, name)


def main():
    args = parse_args()
    grpc, api, stubs = load_api(args.gen_dir, args.proto)
    if args.cmd == "gen":
        return
    rt = Runtime(grpc, stubs, args.address)
    commands = {"run-pod": run_pod, "run-container": run_container, "spec": spec, "pod-spec": spec,
                "remove-pod": remove_pod}
    try:
        commands[args.cmd](rt, api, args)
    except grpc.RpcError as e:
        fail("%s: %s: %s" % (args.cmd, e.code().name, e.details()))


if __name__ == "__main__":
    main()
