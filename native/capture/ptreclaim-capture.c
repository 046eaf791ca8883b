/*
 * ptreclaim-capture: run a command and record what shapes its page tables, for
 * `ptreclaim capture` (src/capture/). x86-64 Linux only.
 *
 *   ptreclaim-capture [--buffer-pages N] [--no-samples] -- CMD [ARGS...]
 *
 * CMD runs under ptrace (every thread; vfork children until their exec). At CMD's exec the
 * helper reads /proc/PID/maps and /proc/PID/pagemap (the address space as exec left it),
 * then opens the tracepoints exceptions:page_fault_user and exceptions:page_fault_kernel
 * with perf_event_open, one ring buffer per CPU, inherited by new threads. Every memory
 * syscall is seen at its syscall-exit stop (PTRACE_SYSCALL): the ring buffers are drained
 * first, so the faults before it come before it in the record, then the call (number,
 * arguments, result) is written, with the mapping's file for a file mmap and the process's
 * VmPTE/Rss counters after it. At the last thread's exit stop (mm still intact) the final
 * counters are written.
 *
 * Records go to file descriptor 3 (CMD keeps 0-2), one per line, fields separated by spaces:
 *   X n                          exec number n (1-based) of the traced process; what follows
 *                                describes that address space (a reader keeps the last)
 *   M start end perms offset inode path   a /proc/PID/maps line (hex; path may be empty)
 *   K start_brk brk              the program break at exec (hex)
 *   R start pages kind           present pages at exec: kind a (anonymous) or f (file/shared)
 *   F addr error_code u|k        a page fault on a user address (hex), user or kernel mode
 *   S nr ret a0 a1 a2 a3 a4 a5   an mm syscall at its exit (decimal nr and ret, hex args)
 *   B end inode path             the mapping made by the S line before (mmap of an fd, shmat):
 *                                its end (hex), file inode and path as /proc/PID/maps shows them
 *   Q vmpte rssanon rssfile rssshmem   counters (kB) after the S line before
 *   E vmpte rssanon rssfile rssshmem swap   counters (kB) at exit (swap: VmSwap)
 *   C n                          processes with their own mm seen faulting (fork children)
 *   W status                     CMD's wait status (decimal)
 *   L n                          events the kernel dropped (ring buffer full)
 *   ! message                    why the helper failed (then it exits: 2 usage, 3 cannot trace
 *                                here (permissions, no tracepoints), 4 CMD could not be executed,
 *                                5 other); before fd 3 is open, the message goes to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __x86_64__
#error "ptreclaim-capture reads x86-64 syscall registers"
#endif

#define EXIT_USAGE 2
#define EXIT_CANNOT_TRACE 3
#define EXIT_CANNOT_EXEC 4
#define EXIT_OTHER 5
#define USER_TOP 0x800000000000ULL
#define MAX_CPUS 1024

static FILE *out;
static pid_t tgid;
static int nr_cpus;
static int perf_fds[MAX_CPUS][2];
static struct perf_event_mmap_page *rings[MAX_CPUS];
static size_t ring_data_size;
static int buffer_pages = 1024;
static int want_samples = 1;
static int perf_open;
static int fault_user_id = -1, fault_kernel_id = -1;
static uint64_t lost;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int drain_stop;

/* Other processes (own mm) seen in the samples; vfork children share ours until exec. */
static pid_t children[4096];
static int nchildren;
static pid_t vfork_children[256];
static int nvfork;

/*
 * The message goes to the records as a "! message" line (CMD shares our standard error, so
 * a reader could not tell ours from its), and to standard error when there are no records.
 */
static void die(int code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (tgid > 0) kill(tgid, SIGKILL);
  if (out) {
    fprintf(out, "! %s\n", msg);
    fflush(out);
  } else {
    fprintf(stderr, "ptreclaim-capture: %s\n", msg);
  }
  exit(code);
}

static int read_int_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int v = -1;
  if (fscanf(f, "%d", &v) != 1) v = -1;
  fclose(f);
  return v;
}

/* The tracepoint's id under tracefs (mounted on first access on most systems). */
static int tracepoint_id(const char *name) {
  static const char *roots[] = {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"};
  char path[256];
  int first_errno = 0;
  for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
    snprintf(path, sizeof path, "%s/%s/id", roots[i], name);
    int id = read_int_file(path);
    if (id >= 0) return id;
    if (!first_errno) first_errno = errno;
  }
  errno = first_errno; /* the first root's reason: EACCES when not permitted */
  return -1;
}

static int is_vfork_child(pid_t pid) {
  for (int i = 0; i < nvfork; i++)
    if (vfork_children[i] == pid) return 1;
  return 0;
}

static void forget_vfork_child(pid_t pid) {
  for (int i = 0; i < nvfork; i++)
    if (vfork_children[i] == pid) vfork_children[i] = vfork_children[--nvfork];
}

static void note_child(pid_t pid) {
  for (int i = 0; i < nchildren; i++)
    if (children[i] == pid) return;
  if (nchildren < (int)(sizeof children / sizeof children[0])) children[nchildren++] = pid;
}

struct fault {
  uint64_t time, addr, error_code;
  int kernel;
};
static struct fault *batch;
static size_t batch_len, batch_cap;

static int by_time(const void *a, const void *b) {
  const struct fault *x = a, *y = b;
  return x->time < y->time ? -1 : x->time > y->time;
}

/*
 * Moves every record of every CPU's ring buffer out, sorted by time, into `out`. Called
 * with `lock` held. Samples of other processes are dropped (their pids counted as children).
 */
static void drain(void) {
  if (!perf_open) return;
  batch_len = 0;
  for (int c = 0; c < nr_cpus; c++) {
    struct perf_event_mmap_page *m = rings[c];
    if (!m) continue;
    uint64_t head = __atomic_load_n(&m->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = m->data_tail;
    unsigned char *data = (unsigned char *)m + m->data_offset;
    unsigned char rec[512];
    while (tail < head) {
      struct perf_event_header h;
      for (size_t k = 0; k < sizeof h; k++) ((unsigned char *)&h)[k] = data[(tail + k) % ring_data_size];
      if (h.size < sizeof h) break;
      size_t n = h.size < sizeof rec ? h.size : sizeof rec;
      for (size_t k = 0; k < n; k++) rec[k] = data[(tail + k) % ring_data_size];
      tail += h.size;
      if (h.type == PERF_RECORD_LOST) {
        lost += *(uint64_t *)(rec + sizeof h + 8);
      } else if (h.type == PERF_RECORD_SAMPLE) {
        /* PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW */
        uint32_t pid = *(uint32_t *)(rec + 8);
        uint64_t time = *(uint64_t *)(rec + 16);
        unsigned char *raw = rec + 28;
        uint16_t type = *(uint16_t *)raw;
        uint64_t addr = *(uint64_t *)(raw + 8);
        uint64_t err = *(uint64_t *)(raw + 24);
        if ((pid_t)pid != tgid && !is_vfork_child((pid_t)pid)) {
          note_child((pid_t)pid);
          continue;
        }
        if (addr >= USER_TOP) continue;
        if (batch_len == batch_cap) {
          batch_cap = batch_cap ? 2 * batch_cap : 65536;
          batch = realloc(batch, batch_cap * sizeof *batch);
          if (!batch) die(EXIT_OTHER, "out of memory");
        }
        batch[batch_len++] = (struct fault){time, addr, err, type == fault_kernel_id};
      }
    }
    __atomic_store_n(&m->data_tail, tail, __ATOMIC_RELEASE);
  }
  qsort(batch, batch_len, sizeof *batch, by_time);
  for (size_t i = 0; i < batch_len; i++)
    fprintf(out, "F %llx %llx %c\n", (unsigned long long)batch[i].addr, (unsigned long long)batch[i].error_code,
            batch[i].kernel ? 'k' : 'u');
}

/* Keeps the ring buffers from filling while CMD runs without memory syscalls. */
static void *drain_loop(void *arg) {
  (void)arg;
  struct timespec ts = {0, 1000000};
  while (!drain_stop) {
    pthread_mutex_lock(&lock);
    drain();
    pthread_mutex_unlock(&lock);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static long perf_event_open(struct perf_event_attr *a, pid_t pid, int cpu, int group, unsigned long flags) {
  return syscall(SYS_perf_event_open, a, pid, cpu, group, flags);
}

/* Fails (exit 3, saying what is needed) unless this process may record the fault tracepoints. */
static void check_permitted(void) {
  if (fault_user_id >= 0) return;
  fault_user_id = tracepoint_id("exceptions/page_fault_user");
  fault_kernel_id = tracepoint_id("exceptions/page_fault_kernel");
  if ((fault_user_id < 0 || fault_kernel_id < 0) && (errno == EACCES || errno == EPERM))
    die(EXIT_CANNOT_TRACE,
        "not permitted to read the tracepoint ids under /sys/kernel/tracing (%s): capturing needs root, or CAP_PERFMON "
        "(or kernel.perf_event_paranoid=-1, now %d) plus read access to tracefs",
        strerror(errno), read_int_file("/proc/sys/kernel/perf_event_paranoid"));
  if (fault_user_id < 0 || fault_kernel_id < 0)
    die(EXIT_CANNOT_TRACE,
        "cannot read the ids of the tracepoints exceptions:page_fault_user/page_fault_kernel under /sys/kernel/tracing "
        "(needs tracefs, root or read access to it, and a kernel with CONFIG_TRACEPOINTS on x86)");
  /* Opening one event on ourselves tells whether perf_event_open is permitted, before CMD starts. */
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_TRACEPOINT;
  a.config = (uint64_t)fault_user_id;
  a.sample_period = 1;
  a.sample_type = PERF_SAMPLE_RAW;
  long fd = perf_event_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EPERM))
    die(EXIT_CANNOT_TRACE,
        "perf_event_open of tracepoint exceptions:page_fault_user not permitted (%s): needs CAP_PERFMON "
        "(or CAP_SYS_ADMIN; root has both) or kernel.perf_event_paranoid=-1 (now %d): "
        "`sudo sysctl kernel.perf_event_paranoid=-1` or run as root",
        strerror(errno), read_int_file("/proc/sys/kernel/perf_event_paranoid"));
  if (fd < 0) die(EXIT_CANNOT_TRACE, "perf_event_open of tracepoint exceptions:page_fault_user: %s", strerror(errno));
  close((int)fd);
}

static void open_perf(pid_t pid) {
  check_permitted();
  nr_cpus = (int)sysconf(_SC_NPROCESSORS_CONF);
  if (nr_cpus > MAX_CPUS) nr_cpus = MAX_CPUS;
  ring_data_size = (size_t)buffer_pages * 4096;
  for (int c = 0; c < nr_cpus; c++) {
    int ids[2] = {fault_user_id, fault_kernel_id};
    for (int e = 0; e < 2; e++) {
      struct perf_event_attr a;
      memset(&a, 0, sizeof a);
      a.size = sizeof a;
      a.type = PERF_TYPE_TRACEPOINT;
      a.config = (uint64_t)ids[e];
      a.sample_period = 1;
      a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW;
      a.inherit = 1;
      /* No wakeups: nobody polls (a wakeup per event costs a self-interrupt: 20 us per fault in a VM). */
      a.watermark = 1;
      a.wakeup_watermark = (uint32_t)(ring_data_size - 4096);
      a.use_clockid = 1;
      a.clockid = CLOCK_MONOTONIC;
      long fd = perf_event_open(&a, pid, c, -1, PERF_FLAG_FD_CLOEXEC);
      if (fd < 0) {
        if (errno == ENODEV || errno == ENOENT) {
          perf_fds[c][e] = -1; /* an offline CPU */
          continue;
        }
        int paranoid = read_int_file("/proc/sys/kernel/perf_event_paranoid");
        if (errno == EACCES || errno == EPERM)
          die(EXIT_CANNOT_TRACE,
              "perf_event_open of tracepoint exceptions:page_fault_* not permitted (%s): needs CAP_PERFMON "
              "(or CAP_SYS_ADMIN; root has both) or kernel.perf_event_paranoid=-1 (now %d): "
              "`sudo sysctl kernel.perf_event_paranoid=-1` or run as root",
              strerror(errno), paranoid);
        die(EXIT_CANNOT_TRACE, "perf_event_open of exceptions:page_fault_* on CPU %d: %s", c, strerror(errno));
      }
      perf_fds[c][e] = (int)fd;
    }
    if (perf_fds[c][0] < 0) continue;
    void *m = mmap(NULL, ring_data_size + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, perf_fds[c][0], 0);
    if (m == MAP_FAILED)
      die(EXIT_CANNOT_TRACE,
          "cannot map a %d-page perf ring buffer (%s): lower --buffer-pages or raise kernel.perf_event_mlock_kb", buffer_pages,
          strerror(errno));
    rings[c] = m;
    if (perf_fds[c][1] >= 0 && ioctl(perf_fds[c][1], PERF_EVENT_IOC_SET_OUTPUT, perf_fds[c][0]) < 0)
      die(EXIT_CANNOT_TRACE, "PERF_EVENT_IOC_SET_OUTPUT: %s", strerror(errno));
  }
  perf_open = 1;
}

/* VmPTE, RssAnon, RssFile, RssShmem, VmSwap (kB) of a thread's mm; 0 when /proc has no mm for it. */
static int read_counters(pid_t tid, long v[5]) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/task/%d/status", tgid, tid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  static const char *keys[5] = {"VmPTE:", "RssAnon:", "RssFile:", "RssShmem:", "VmSwap:"};
  int found = 0;
  v[0] = v[1] = v[2] = v[3] = v[4] = 0;
  while (fgets(line, sizeof line, f))
    for (int k = 0; k < 5; k++)
      if (!strncmp(line, keys[k], strlen(keys[k]))) {
        v[k] = strtol(line + strlen(keys[k]), NULL, 10);
        found++;
      }
  fclose(f);
  return found == 5;
}

/* The maps line of the mapping starting at addr: writes its inode and path as a B record. */
static void write_backing(uint64_t addr) {
  char path[64], line[4352];
  snprintf(path, sizeof path, "/proc/%d/maps", tgid);
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    unsigned long long s, e, off, ino;
    char perms[8], dev[32];
    int n = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &s, &e, perms, &off, dev, &ino, &n) < 6) continue;
    if (s != addr) continue;
    char *p = line + n;
    p[strcspn(p, "\n")] = 0;
    fprintf(out, "B %llx %llu %s\n", e, ino, p);
    break;
  }
  fclose(f);
}

/* The address space right after exec: maps, the program break, present pages. */
static void write_address_space(void) {
  char path[64], line[4352];
  snprintf(path, sizeof path, "/proc/%d/stat", tgid);
  FILE *f = fopen(path, "r");
  if (f && fgets(line, sizeof line, f)) {
    /* Fields after the command name (which may hold spaces): start_brk is field 47. */
    char *p = strrchr(line, ')');
    unsigned long long start_brk = 0;
    int field = 2;
    for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " "))
      if (++field == 47) start_brk = strtoull(t, NULL, 10);
    fprintf(out, "K %llx\n", start_brk);
  }
  if (f) fclose(f);
  snprintf(path, sizeof path, "/proc/%d/maps", tgid);
  f = fopen(path, "r");
  if (!f) die(EXIT_OTHER, "cannot read %s: %s", path, strerror(errno));
  snprintf(path, sizeof path, "/proc/%d/pagemap", tgid);
  int pm = open(path, O_RDONLY);
  if (pm < 0) die(EXIT_OTHER, "cannot read %s: %s", path, strerror(errno));
  uint64_t entries[512];
  while (fgets(line, sizeof line, f)) {
    unsigned long long s, e, off, ino;
    char perms[8], dev[32];
    int n = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &s, &e, perms, &off, dev, &ino, &n) < 6) continue;
    if (s >= USER_TOP) continue;
    char *p = line + n;
    p[strcspn(p, "\n")] = 0;
    fprintf(out, "M %llx %llx %s %llx %llu %s\n", s, e, perms, off, ino, p);
    /* Present pages, as runs of one kind. */
    unsigned long long run_start = 0, run_len = 0;
    char run_kind = 0;
    for (unsigned long long a = s; a < e; a += 512 * 4096ULL) {
      size_t want = (size_t)((e - a) / 4096 < 512 ? (e - a) / 4096 : 512);
      ssize_t got = pread(pm, entries, want * 8, (off_t)(a / 4096 * 8));
      if (got < 0) die(EXIT_OTHER, "cannot read %s: %s", path, strerror(errno));
      for (size_t i = 0; i < (size_t)got / 8; i++) {
        uint64_t pe = entries[i];
        char kind = (pe >> 63) & 1 ? (((pe >> 61) & 1) ? 'f' : 'a') : 0;
        unsigned long long page = a + i * 4096;
        if (run_len && (kind != run_kind || page != run_start + run_len * 4096)) {
          fprintf(out, "R %llx %llu %c\n", run_start, run_len, run_kind);
          run_len = 0;
        }
        if (kind) {
          if (!run_len) {
            run_start = page;
            run_kind = kind;
          }
          run_len++;
        }
      }
    }
    if (run_len) fprintf(out, "R %llx %llu %c\n", run_start, run_len, run_kind);
  }
  close(pm);
  fclose(f);
}

static int is_mm_syscall(long nr) {
  switch (nr) {
  case SYS_mmap:
  case SYS_mprotect:
  case SYS_munmap:
  case SYS_brk:
  case SYS_mremap:
  case SYS_madvise:
  case SYS_shmat:
  case SYS_shmdt:
  case SYS_mlock:
  case SYS_munlock:
  case SYS_mlockall:
  case SYS_munlockall:
  case SYS_remap_file_pages:
  case SYS_mlock2:
  case SYS_pkey_mprotect:
#ifdef SYS_process_madvise
  case SYS_process_madvise:
#endif
    return 1;
  default:
    return 0;
  }
}

/*
 * Per thread id: 1 while the thread is inside a syscall (its next syscall stop is the exit).
 * Thread ids are below PID_MAX_LIMIT (4M on 64-bit): indexed directly, no collisions.
 */
static unsigned char in_syscall[1 << 22];
static int live_threads;

static void on_syscall_stop(pid_t tid) {
  unsigned slot = (unsigned)tid % sizeof in_syscall;
  if (!in_syscall[slot]) {
    in_syscall[slot] = 1;
    return;
  }
  in_syscall[slot] = 0;
  struct user_regs_struct r;
  if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0) return;
  long nr = (long)r.orig_rax;
  if (!is_mm_syscall(nr) || !perf_open) return;
  long ret = (long)r.rax;
  pthread_mutex_lock(&lock);
  drain();
  fprintf(out, "S %ld %ld %llx %llx %llx %llx %llx %llx\n", nr, ret, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9);
  int file_mmap = nr == SYS_mmap && ret >= 0 && !(r.r10 & MAP_ANONYMOUS);
  if (file_mmap || (nr == SYS_shmat && ret >= 0)) write_backing((uint64_t)ret);
  long v[5];
  if (want_samples && read_counters(tid, v)) fprintf(out, "Q %ld %ld %ld %ld\n", v[0], v[1], v[2], v[3]);
  pthread_mutex_unlock(&lock);
}

static void usage(void) {
  fputs("usage: ptreclaim-capture [--buffer-pages N] [--no-samples] -- CMD [ARGS...]\n", stderr);
  exit(EXIT_USAGE);
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "--buffer-pages") && i + 1 < argc) {
      buffer_pages = atoi(argv[++i]);
      if (buffer_pages < 1 || (buffer_pages & (buffer_pages - 1)))
        die(EXIT_USAGE, "--buffer-pages must be a power of two, not %s", argv[i]);
    } else if (!strcmp(argv[i], "--no-samples")) {
      want_samples = 0;
    } else if (argv[i][0] == '-') {
      usage();
    } else {
      break;
    }
  }
  if (i >= argc) usage();
  out = fdopen(3, "w");
  if (!out) die(EXIT_USAGE, "file descriptor 3 (the records) is not open for writing");
  setvbuf(out, NULL, _IOFBF, 1 << 20);
  fcntl(3, F_SETFD, FD_CLOEXEC);

  check_permitted();
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) die(EXIT_OTHER, "pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die(EXIT_OTHER, "fork: %s", strerror(errno));
  if (pid == 0) {
    close(errpipe[0]);
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
      int e = errno;
      if (write(errpipe[1], &e, sizeof e) < 0) _exit(127);
      _exit(127);
    }
    raise(SIGSTOP);
    execvp(argv[i], argv + i);
    int e = errno;
    if (write(errpipe[1], &e, sizeof e) < 0) _exit(127);
    _exit(127);
  }
  close(errpipe[1]);
  tgid = pid;
  int status;
  if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) {
    int e = 0;
    if (read(errpipe[0], &e, sizeof e) == sizeof e) die(EXIT_CANNOT_TRACE, "ptrace(PTRACE_TRACEME): %s", strerror(e));
    die(EXIT_OTHER, "the child did not stop before exec");
  }
  long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE | PTRACE_O_TRACEVFORK |
              PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SETOPTIONS, pid, 0, opts) < 0) die(EXIT_CANNOT_TRACE, "ptrace(PTRACE_SETOPTIONS): %s", strerror(errno));
  ptrace(PTRACE_SYSCALL, pid, 0, 0);

  int execs = 0;
  long final[5] = {0, 0, 0, 0, 0};
  int have_final = 0;
  pthread_t drainer;
  int drainer_started = 0;
  live_threads = 1;
  for (;;) {
    pid_t t = waitpid(-1, &status, __WALL);
    if (t < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: every tracee is gone */
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (t == tgid) {
        if (!execs) {
          int e = 0;
          if (read(errpipe[0], &e, sizeof e) == sizeof e)
            die(EXIT_CANNOT_EXEC, "cannot execute %s: %s", argv[i], strerror(e));
          die(EXIT_CANNOT_EXEC, "%s exited before its exec", argv[i]);
        }
        fprintf(out, "W %d\n", status);
      }
      forget_vfork_child(t);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    int deliver = 0;
    if (sig == (SIGTRAP | 0x80)) {
      if (!is_vfork_child(t)) on_syscall_stop(t);
    } else if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
      if (is_vfork_child(t)) {
        /* A vfork child now has its own mm: stop following it. */
        pthread_mutex_lock(&lock);
        drain();
        forget_vfork_child(t);
        note_child(t);
        pthread_mutex_unlock(&lock);
        ptrace(PTRACE_DETACH, t, 0, 0);
        continue;
      }
      /* The traced process (re)executed: its address space starts anew. */
      if (!perf_open) open_perf(tgid);
      pthread_mutex_lock(&lock);
      drain();
      execs++;
      fprintf(out, "X %d\n", execs);
      write_address_space();
      pthread_mutex_unlock(&lock);
      memset(in_syscall, 0, sizeof in_syscall);
      live_threads = 1;
      /* The exec stop comes before the execve's syscall-exit stop. */
      in_syscall[(unsigned)tgid % sizeof in_syscall] = 1;
      if (!drainer_started) {
        if (pthread_create(&drainer, NULL, drain_loop, NULL)) die(EXIT_OTHER, "pthread_create failed");
        drainer_started = 1;
      }
    } else if (sig == SIGTRAP && event == PTRACE_EVENT_EXIT) {
      if (!is_vfork_child(t)) {
        /* The last thread out sees the final mm; earlier exits overwrite nothing later. */
        long v[5];
        pthread_mutex_lock(&lock);
        drain();
        if (execs && read_counters(t, v)) {
          memcpy(final, v, sizeof v);
          have_final = 1;
        }
        pthread_mutex_unlock(&lock);
        live_threads--;
      } else {
        forget_vfork_child(t);
      }
    } else if (sig == SIGTRAP && (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_VFORK)) {
      unsigned long child = 0;
      ptrace(PTRACE_GETEVENTMSG, t, 0, &child);
      if (event == PTRACE_EVENT_VFORK) {
        if (nvfork < (int)(sizeof vfork_children / sizeof vfork_children[0])) vfork_children[nvfork++] = (pid_t)child;
      } else {
        live_threads++;
      }
    } else if (sig == SIGSTOP && event == 0 && (is_vfork_child(t) || t != tgid)) {
      /* A new thread's or vfork child's first stop: not a signal for CMD. */
    } else if (event == PTRACE_EVENT_STOP) {
      /* group-stop under PTRACE_SEIZE semantics: not used */
    } else if (event == 0) {
      deliver = sig;
    }
    if (is_vfork_child(t))
      ptrace(PTRACE_CONT, t, 0, deliver);
    else
      ptrace(PTRACE_SYSCALL, t, 0, deliver);
  }
  if (drainer_started) {
    drain_stop = 1;
    pthread_join(drainer, NULL);
  }
  pthread_mutex_lock(&lock);
  drain();
  if (have_final) fprintf(out, "E %ld %ld %ld %ld %ld\n", final[0], final[1], final[2], final[3], final[4]);
  fprintf(out, "C %d\n", nchildren);
  fprintf(out, "L %llu\n", (unsigned long long)lost);
  pthread_mutex_unlock(&lock);
  if (fflush(out) != 0) die(EXIT_OTHER, "cannot write the records: %s", strerror(errno));
  return 0;
}
