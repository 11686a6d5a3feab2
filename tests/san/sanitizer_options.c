/* Linked only into build/san-bin/oci-idmap-hook, the hook built with ASan
 * and UBSan for the second run of the integration suite.  Engines start
 * hooks with an environment of their own, so ASAN_OPTIONS would never reach
 * it: the sanitizers read these defaults instead.
 *
 * - detect_leaks=0: LeakSanitizer stops the process with ptrace at exit, a
 *   system call the hook's seccomp filter refuses (the unit tests, which run
 *   without the filter, keep leak checks).
 * - use_sigaltstack=0, color=never: no sigaltstack call in every walker
 *   thread, no terminal ioctl in the middle of a report.
 * - exitcode=86: a sanitizer's report ends the hook with a status no code
 *   path of its own uses, so a failed start says which it was.
 * - log_path: the report also lands in a file that tests/run-integration
 *   looks for after the run (crun and podman drop a hook's stderr). */
const char *__asan_default_options (void);
const char *__ubsan_default_options (void);

const char *
__asan_default_options (void)
{
  return "detect_leaks=0:use_sigaltstack=0:color=never:exitcode=86:log_path=/tmp/oci-idmap-hook-sanitizer";
}

const char *
__ubsan_default_options (void)
{
  return "print_stacktrace=1:halt_on_error=1:color=never:exitcode=86:log_path=/tmp/oci-idmap-hook-sanitizer";
}
