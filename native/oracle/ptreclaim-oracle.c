/*
 * ptreclaim-oracle: replay a canonical ptreclaim trace on the live kernel and
 * report exact page-table accounting (VmPTE) and RSS counters.
 *
 * Canonical trace (one op per line, numbers are lowercase hex with 0x prefix):
 *
 *   mmap    ADDR LEN
 *   munmap  ADDR LEN
 *   touch   ADDR LEN write|read
 *   madvise ADDR LEN dontneed|free
 *
 * Blank lines and lines starting with '#' are ignored (they do not count as
 * ops; op indexes in the output are 0-based among ops only).
 *
 * Canonical trace v2 (first non-comment line `version 2`; see MEASURED.md):
 *
 *   mmap     ADDR LEN [prot=rw|r|none] [shared] [file=NAME[:OFFSET]]
 *   munmap   ADDR LEN
 *   mprotect ADDR LEN rw|r|none
 *   mremap   ADDR OLDLEN NEWLEN [NEWADDR]
 *   touch    ADDR LEN write|read
 *   madvise  ADDR LEN dontneed|free|hugepage|nohugepage|collapse|guard-install|
 *            guard-remove|populate-read|populate-write|dontneed-locked|remove|
 *            willneed|cold|pageout
 *
 * v2 files (NAME = [A-Za-z0-9._-]+) are created in a fresh directory under
 * $TMPDIR (else /tmp), which must not be tmpfs/ramfs, and are unlinked (and
 * the directory removed) right after they are opened, before the replay: the
 * open descriptors keep them alive, and nothing is left behind even when the
 * helper is killed. A v2 touch is checked against the kernel's own view just
 * before it runs (/proc/self/maps for the VMAs and their prot, the file size
 * for file pages beyond EOF, /proc/self/pagemap bit 58 for guard markers):
 * any page that would fault fatally refuses the whole touch with EFAULT.
 *
 * The whole input is parsed into a preallocated, pre-faulted array before
 * anything is measured. During the replay the program does no malloc, no
 * stdio and nothing that could grow its own page tables: /proc/self/status is
 * read with open/read/close into a static pre-touched buffer and parsed by
 * hand, every libc entry point used in the replay is called once beforehand
 * (lazy binding), and the stack is pre-touched.
 *
 * Safety: touch is refused (EFAULT recorded) unless the range lies entirely in
 * mappings this replay created; munmap/madvise/touch ranges that intersect the
 * helper's own mappings (taken from /proc/self/maps just before the replay)
 * are refused with EFAULT as well, so a trace cannot make the helper crash.
 *
 * A trace whose ranges overlap the helper's own mappings (libc, stack, ...) is
 * refused as a whole before anything runs (exit 4): its result would not be
 * comparable with a process that starts empty. The JSON lists the helper's own
 * mappings ("helperMappings") so the caller can tell whether the trace shares
 * page tables with them.
 *
 * --op-times adds "opNs": the time of each op, in ns (clock_gettime around the
 * syscall or the access loop), stored in a preallocated array during the
 * replay and printed after it; `ptreclaim calibrate` regresses these on the
 * model's counters.
 *
 * --progress-fd N (N >= 3, a pipe or stream socket the caller reads) makes the
 * replay report how far it is: 16-byte records {u64 done ops, u64 total ops},
 * little-endian, one before the first op (done = 0), then one whenever ~100 ms
 * (--progress-interval-ms) of CLOCK_MONOTONIC have passed since the last, and
 * a last one with done = total after the replay. In the replay the check
 * reuses the clock read that times the op; a record is one write(2) of a
 * static pre-touched buffer on a non-blocking descriptor, dropped when the
 * reader is behind: no allocation, no stdio, no wait, no page-table change.
 *
 * --host prints facts about the running system the caller cannot get from
 * /proc alone: the page size and the user address width actually in use
 * (47 bits = 4-level paging, 56 = 5-level), probed with a fixed mapping just
 * above 2^47.
 *
 * Exit codes: 0 ok (failed ops are data, reported in "errors"), 1 runtime
 * failure, 2 usage / parse error, 3 unsupported system, 4 an address the trace
 * uses is already in use by the helper itself.
 *
 * Single file, C11 + POSIX/Linux, libc only.
 */
#define _GNU_SOURCE 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORACLE_VERSION "ptreclaim-oracle 0.1.0"

#if !(defined(__linux__) && defined(__x86_64__))

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts(ORACLE_VERSION);
		return 0;
	}
	fputs("ptreclaim-oracle: unsupported system: the live-kernel oracle "
	      "needs Linux on x86-64\n", stderr);
	return 3;
}

#else /* Linux x86-64 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
/* uapi asm-generic/mman-common.h values; older libc headers lack some */
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6
/* /proc/PID/pagemap: the entry is a guard marker (6.14+) */
#define PM_GUARD_REGION_ (1ULL << 58)

#define PAGE_SZ 4096ULL
#define PMD_SZ (2ULL << 20)
#define PUD_SZ (1ULL << 30)

enum op_kind {
	OP_MMAP = 0, OP_MUNMAP = 1, OP_TOUCH = 2, OP_MADVISE = 3,
	OP_V1_NKINDS = 4, /* v1 output lists only these */
	OP_MPROTECT = 4, OP_MREMAP = 5, OP_NKINDS = 6
};
static const char *const kind_names[OP_NKINDS] = { "mmap", "munmap", "touch", "madvise", "mprotect",
						   "mremap" };

/* v2 madvise words, indexed by op.sub (v1 knows the first two) */
static const struct {
	const char *word;
	int advice;
} advice_table[] = {
	{ "dontneed", MADV_DONTNEED },		{ "free", MADV_FREE },
	{ "hugepage", MADV_HUGEPAGE },		{ "nohugepage", MADV_NOHUGEPAGE },
	{ "collapse", MADV_COLLAPSE },		{ "guard-install", MADV_GUARD_INSTALL },
	{ "guard-remove", MADV_GUARD_REMOVE },	{ "populate-read", MADV_POPULATE_READ },
	{ "populate-write", MADV_POPULATE_WRITE }, { "dontneed-locked", MADV_DONTNEED_LOCKED },
	{ "remove", MADV_REMOVE },		{ "willneed", MADV_WILLNEED },
	{ "cold", MADV_COLD },			{ "pageout", MADV_PAGEOUT },
};
#define N_ADVICE (sizeof(advice_table) / sizeof(advice_table[0]))

/* v2 op.flags */
#define OPF_SHARED 1u
#define OPF_FILE 2u
#define OPF_NEWADDR 4u

/*
 * sub: touch 1 = write, 0 = read; madvise: index into advice_table (v1: 0 =
 * dontneed, 1 = free); mmap/mprotect (v2): PROT_* bits.
 * v2 only: addr2 = mremap NEWADDR, len2 = mremap NEWLEN, offset = file offset,
 * file = index into the file table.
 */
struct op {
	uint64_t addr;
	uint64_t len;
	uint32_t kind;
	uint32_t sub;
	uint64_t line; /* 1-based input line, for refusals */
	uint64_t addr2, len2, offset;
	uint32_t flags;
	int32_t file;
};

/* 1 or 2: from the `version` line */
static int trace_version = 1;
/* --no-khugepaged-quiesce: measure what khugepaged does without it */
static int no_quiesce;

struct op_err {
	uint32_t index;
	int32_t err;
};

struct snap {
	long vmpte, rssanon, rssfile, rssshmem, swap;
};

struct iv {
	uint64_t lo, hi; /* [lo, hi) */
};

struct ivset {
	struct iv *v;
	size_t n, cap;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static void die(int code, const char *msg)
{
	fprintf(stderr, "ptreclaim-oracle: %s\n", msg);
	exit(code);
}

static void *map_zeroed(size_t bytes)
{
	if (bytes == 0)
		bytes = PAGE_SZ;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "ptreclaim-oracle: cannot allocate %zu bytes: %s\n", bytes, strerror(errno));
		exit(1);
	}
	memset(p, 0, bytes); /* pre-fault */
	return p;
}

static const char *errno_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EHWPOISON: return "EHWPOISON";
	default: return "UNKNOWN";
	}
}

static inline uint64_t round_up_page(uint64_t x)
{
	return (x + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* interval sets (sorted, disjoint, non-adjacent), preallocated         */
/* Plain loops only: no libc calls, no allocation.                      */

/* first index whose hi > x */
static size_t iv_lower(const struct ivset *s, uint64_t x)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].hi > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void iv_shift(struct ivset *s, size_t from, size_t to)
{
	/* move s->v[from..n) to s->v[to..), adjust n */
	size_t cnt = s->n - from;
	if (to > from) {
		for (size_t k = cnt; k-- > 0;)
			s->v[to + k] = s->v[from + k];
	} else if (to < from) {
		for (size_t k = 0; k < cnt; k++)
			s->v[to + k] = s->v[from + k];
	}
	s->n = to + cnt;
}

/* returns 0, or -1 when out of capacity */
static int iv_add(struct ivset *s, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return 0;
	/* first interval that overlaps or touches [lo,hi): hi_i >= lo */
	size_t i = iv_lower(s, lo ? lo - 1 : 0);
	if (i < s->n && s->v[i].hi < lo)
		i++;
	size_t j = i;
	while (j < s->n && s->v[j].lo <= hi) {
		if (s->v[j].lo < lo)
			lo = s->v[j].lo;
		if (s->v[j].hi > hi)
			hi = s->v[j].hi;
		j++;
	}
	if (j == i) {
		if (s->n + 1 > s->cap)
			return -1;
		iv_shift(s, i, i + 1);
	} else if (j > i + 1) {
		iv_shift(s, j, i + 1);
	}
	s->v[i].lo = lo;
	s->v[i].hi = hi;
	return 0;
}

static int iv_remove(struct ivset *s, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return 0;
	size_t i = iv_lower(s, lo);
	if (i >= s->n || s->v[i].lo >= hi)
		return 0;
	if (s->v[i].lo < lo && s->v[i].hi > hi) {
		/* split */
		if (s->n + 1 > s->cap)
			return -1;
		uint64_t oldhi = s->v[i].hi;
		iv_shift(s, i + 1, i + 2);
		s->v[i].hi = lo;
		s->v[i + 1].lo = hi;
		s->v[i + 1].hi = oldhi;
		return 0;
	}
	if (s->v[i].lo < lo) {
		s->v[i].hi = lo;
		i++;
	}
	size_t j = i;
	while (j < s->n && s->v[j].hi <= hi)
		j++;
	if (j < s->n && s->v[j].lo < hi)
		s->v[j].lo = hi;
	if (j > i)
		iv_shift(s, j, i);
	return 0;
}

static int iv_covers(const struct ivset *s, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return 1;
	size_t i = iv_lower(s, lo);
	return i < s->n && s->v[i].lo <= lo && s->v[i].hi >= hi;
}

static int iv_intersects(const struct ivset *s, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return 0;
	size_t i = iv_lower(s, lo);
	return i < s->n && s->v[i].lo < hi;
}

/* ------------------------------------------------------------------ */
/* /proc/self/status snapshot: static, pre-touched buffer               */

static char status_buf[32768] __attribute__((aligned(4096)));

static const char *parse_kb_field(const char *buf, size_t n, const char *key, long *out)
{
	size_t klen = strlen(key);
	size_t pos = 0;
	while (pos < n) {
		if (n - pos > klen && memcmp(buf + pos, key, klen) == 0 && buf[pos + klen] == ':') {
			size_t p = pos + klen + 1;
			while (p < n && (buf[p] == ' ' || buf[p] == '\t'))
				p++;
			long v = 0;
			int digits = 0;
			while (p < n && buf[p] >= '0' && buf[p] <= '9') {
				v = v * 10 + (buf[p] - '0');
				p++;
				digits++;
			}
			if (!digits)
				return NULL;
			*out = v;
			return buf + p;
		}
		while (pos < n && buf[pos] != '\n')
			pos++;
		pos++;
	}
	return NULL;
}

/* returns 0 or -1 (field missing / read error). No allocation. */
static int take_snapshot(struct snap *s)
{
	int fd;
	do
		fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, status_buf + n, sizeof(status_buf) - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n >= sizeof(status_buf) - 1)
			break;
	}
	close(fd);
	status_buf[n] = 0;
	struct snap t;
	if (!parse_kb_field(status_buf, n, "VmPTE", &t.vmpte) ||
	    !parse_kb_field(status_buf, n, "RssAnon", &t.rssanon) ||
	    !parse_kb_field(status_buf, n, "RssFile", &t.rssfile) ||
	    !parse_kb_field(status_buf, n, "RssShmem", &t.rssshmem) ||
	    !parse_kb_field(status_buf, n, "VmSwap", &t.swap))
		return -1;
	*s = t;
	return 0;
}

static void snapshot_or_die(struct snap *s)
{
	if (take_snapshot(s) != 0)
		die(3, "cannot read VmPTE/RssAnon/RssFile/RssShmem/VmSwap from /proc/self/status");
}

/* ------------------------------------------------------------------ */
/* input                                                               */

struct buf {
	char *p;
	size_t len, cap;
};

static void read_all(int fd, struct buf *b)
{
	b->cap = 1 << 20;
	b->len = 0;
	b->p = mmap(NULL, b->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->p == MAP_FAILED)
		die(1, "cannot allocate input buffer");
	for (;;) {
		if (b->len == b->cap) {
			void *np = mremap(b->p, b->cap, b->cap * 2, MREMAP_MAYMOVE);
			if (np == MAP_FAILED)
				die(1, "cannot grow input buffer");
			b->p = np;
			b->cap *= 2;
		}
		ssize_t r = read(fd, b->p + b->len, b->cap - b->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ptreclaim-oracle: read error: %s\n", strerror(errno));
			exit(2);
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
	}
}

static void parse_fail(size_t lineno, const char *why, const char *line, size_t llen)
{
	if (llen > 120)
		llen = 120;
	fprintf(stderr, "ptreclaim-oracle: parse error at line %zu: %s: \"%.*s\"\n", lineno, why,
		(int)llen, line);
	exit(2);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* next whitespace-delimited token in [*p, end); returns length, 0 at end */
static size_t next_tok(const char **p, const char *end, const char **tok)
{
	const char *q = *p;
	while (q < end && is_blank(*q))
		q++;
	const char *s = q;
	while (q < end && !is_blank(*q))
		q++;
	*tok = s;
	*p = q;
	return (size_t)(q - s);
}

static int tok_eq(const char *t, size_t n, const char *lit)
{
	size_t m = strlen(lit);
	return n == m && memcmp(t, lit, m) == 0;
}

/* strict: 0x + 1..16 lowercase hex digits */
static int parse_hex(const char *t, size_t n, uint64_t *out)
{
	if (n < 3 || n > 18 || t[0] != '0' || t[1] != 'x')
		return -1;
	uint64_t v = 0;
	for (size_t i = 2; i < n; i++) {
		char c = t[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -1;
		v = (v << 4) | d;
	}
	*out = v;
	return 0;
}

/* lenient number for CLI: 0x hex (any case) or decimal */
static int parse_cli_num(const char *s, size_t n, uint64_t *out)
{
	if (n == 0)
		return -1;
	uint64_t v = 0;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (n > 18)
			return -1;
		for (size_t i = 2; i < n; i++) {
			char c = s[i];
			unsigned d;
			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return -1;
			v = (v << 4) | d;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			uint64_t d = (uint64_t)(s[i] - '0');
			if (v > (UINT64_MAX - d) / 10)
				return -1;
			v = v * 10 + d;
		}
	}
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* v2: files named by mmap file=NAME                                     */

#define MAX_FILES 256
#define MAX_FILE_NAME 128

static struct trace_file {
	char name[MAX_FILE_NAME + 1];
	int fd;
	uint64_t size; /* what ftruncate made it */
	uint64_t ino;
	unsigned dev_major, dev_minor;
} files[MAX_FILES];
static int nfiles;

static int file_index(const char *name, size_t n)
{
	for (int i = 0; i < nfiles; i++)
		if (strlen(files[i].name) == n && memcmp(files[i].name, name, n) == 0)
			return i;
	if (nfiles == MAX_FILES)
		return -1;
	memcpy(files[nfiles].name, name, n);
	files[nfiles].name[n] = 0;
	files[nfiles].fd = -1;
	return nfiles++;
}

static int parse_prot_word(const char *t, size_t n, uint32_t *prot)
{
	if (tok_eq(t, n, "rw"))
		*prot = PROT_READ | PROT_WRITE;
	else if (tok_eq(t, n, "r"))
		*prot = PROT_READ;
	else if (tok_eq(t, n, "none"))
		*prot = PROT_NONE;
	else
		return -1;
	return 0;
}

/* The rest of a v2 line after ADDR LEN (already in op); q..le holds it. */
static void parse_v2_tail(struct op *op, const char *q, const char *le, size_t lineno, const char *ls)
{
	const char *t;
	size_t tl;
	size_t ll = (size_t)(le - ls);

	switch (op->kind) {
	case OP_MMAP: {
		int seen_prot = 0;
		op->sub = PROT_READ | PROT_WRITE;
		op->file = -1;
		while ((tl = next_tok(&q, le, &t)) != 0) {
			if (tl > 5 && memcmp(t, "prot=", 5) == 0 && !seen_prot) {
				if (parse_prot_word(t + 5, tl - 5, &op->sub) != 0)
					parse_fail(lineno, "mmap prot= needs rw, r or none", ls, ll);
				seen_prot = 1;
			} else if (tok_eq(t, tl, "shared") && !(op->flags & OPF_SHARED)) {
				op->flags |= OPF_SHARED;
			} else if (tl > 5 && memcmp(t, "file=", 5) == 0 && !(op->flags & OPF_FILE)) {
				const char *nm = t + 5;
				const char *colon = memchr(nm, ':', tl - 5);
				size_t nl = colon ? (size_t)(colon - nm) : tl - 5;
				if (nl == 0 || nl > MAX_FILE_NAME || tok_eq(nm, nl, ".") || tok_eq(nm, nl, ".."))
					parse_fail(lineno, "file= needs a name of 1-128 characters [A-Za-z0-9._-], not . or ..",
						   ls, ll);
				for (size_t k = 0; k < nl; k++) {
					char c = nm[k];
					if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
					      c == '.' || c == '_' || c == '-'))
						parse_fail(lineno, "file name may hold only [A-Za-z0-9._-]", ls, ll);
				}
				if (colon) {
					size_t ol = tl - 5 - nl - 1;
					if (parse_hex(colon + 1, ol, &op->offset) != 0 || (op->offset & (PAGE_SZ - 1)))
						parse_fail(lineno, "file offset must be 0x + lowercase hex, page aligned", ls,
							   ll);
				}
				op->file = file_index(nm, nl);
				if (op->file < 0)
					parse_fail(lineno, "more than 256 distinct file names", ls, ll);
				op->flags |= OPF_FILE;
			} else {
				parse_fail(lineno, "mmap option must be prot=rw|r|none, shared or file=NAME[:OFFSET], "
					   "each at most once", ls, ll);
			}
		}
		return;
	}
	case OP_MPROTECT:
		tl = next_tok(&q, le, &t);
		if (parse_prot_word(t, tl, &op->sub) != 0)
			parse_fail(lineno, "mprotect needs rw, r or none", ls, ll);
		break;
	case OP_MREMAP:
		tl = next_tok(&q, le, &t);
		if (tl == 0 || parse_hex(t, tl, &op->len2) != 0)
			parse_fail(lineno, "mremap needs NEWLEN (0x + lowercase hex)", ls, ll);
		tl = next_tok(&q, le, &t);
		if (tl != 0) {
			if (parse_hex(t, tl, &op->addr2) != 0)
				parse_fail(lineno, "bad mremap NEWADDR (expected 0x + lowercase hex)", ls, ll);
			op->flags |= OPF_NEWADDR;
		}
		if (op->len2 > UINT64_MAX / 2 || op->addr2 + op->len2 < op->addr2 ||
		    op->addr2 + op->len2 > UINT64_MAX - PAGE_SZ)
			parse_fail(lineno, "mremap NEWADDR + NEWLEN overflows 64 bits", ls, ll);
		break;
	case OP_TOUCH:
		tl = next_tok(&q, le, &t);
		if (tok_eq(t, tl, "write"))
			op->sub = 1;
		else if (tok_eq(t, tl, "read"))
			op->sub = 0;
		else
			parse_fail(lineno, "touch needs 'write' or 'read'", ls, ll);
		break;
	case OP_MADVISE: {
		tl = next_tok(&q, le, &t);
		size_t k = 0;
		while (k < N_ADVICE && !tok_eq(t, tl, advice_table[k].word))
			k++;
		if (k == N_ADVICE)
			parse_fail(lineno, "madvise needs one of dontneed free hugepage nohugepage collapse "
				   "guard-install guard-remove populate-read populate-write dontneed-locked "
				   "remove willneed cold pageout", ls, ll);
		op->sub = (uint32_t)k;
		break;
	}
	default:
		break;
	}
	tl = next_tok(&q, le, &t);
	if (tl != 0)
		parse_fail(lineno, "trailing garbage", ls, ll);
}

/* Parses the whole buffer into a freshly mmap'd, pre-faulted op array. */
static struct op *parse_trace(const struct buf *b, size_t *nops_out)
{
	size_t max_lines = 1;
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] == '\n')
			max_lines++;
	struct op *ops = map_zeroed(max_lines * sizeof(struct op));
	size_t nops = 0, lineno = 0;
	int seen_version = 0;
	const char *p = b->p, *end = b->p + b->len;
	while (p < end) {
		const char *ls = p;
		const char *le = memchr(p, '\n', (size_t)(end - p));
		if (!le)
			le = end;
		p = le + 1;
		lineno++;
		const char *q = ls, *t;
		size_t tl = next_tok(&q, le, &t);
		if (tl == 0 || t[0] == '#')
			continue;
		struct op op = { 0, 0, 0, 0, lineno, 0, 0, 0, 0, -1 };
		int nargs;
		if (tok_eq(t, tl, "version")) {
			const char *v;
			size_t vl = next_tok(&q, le, &v);
			if (nops != 0 || seen_version)
				parse_fail(lineno, "'version' must be the first line that is not a comment", ls,
					   (size_t)(le - ls));
			if (tok_eq(v, vl, "1"))
				trace_version = 1;
			else if (tok_eq(v, vl, "2"))
				trace_version = 2;
			else
				parse_fail(lineno, "unknown trace version (expected 1 or 2)", ls, (size_t)(le - ls));
			if (next_tok(&q, le, &v) != 0)
				parse_fail(lineno, "trailing garbage", ls, (size_t)(le - ls));
			seen_version = 1;
			continue;
		}
		if (tok_eq(t, tl, "mprotect") && trace_version == 2) {
			op.kind = OP_MPROTECT;
			nargs = 3;
		} else if (tok_eq(t, tl, "mremap") && trace_version == 2) {
			op.kind = OP_MREMAP;
			nargs = 3;
		} else if (tok_eq(t, tl, "mmap")) {
			op.kind = OP_MMAP;
			nargs = 2;
		} else if (tok_eq(t, tl, "munmap")) {
			op.kind = OP_MUNMAP;
			nargs = 2;
		} else if (tok_eq(t, tl, "touch")) {
			op.kind = OP_TOUCH;
			nargs = 3;
		} else if (tok_eq(t, tl, "madvise")) {
			op.kind = OP_MADVISE;
			nargs = 3;
		} else {
			parse_fail(lineno, trace_version == 2 ?
				   "unknown op (expected mmap, munmap, mprotect, mremap, touch or madvise)" :
				   "unknown op (expected mmap, munmap, touch or madvise; mprotect and mremap "
				   "need 'version 2' first)", ls, (size_t)(le - ls));
			return NULL;
		}
		tl = next_tok(&q, le, &t);
		if (tl == 0 || parse_hex(t, tl, &op.addr) != 0)
			parse_fail(lineno, "bad or missing address (expected 0x + lowercase hex, max 64 bits)",
				   ls, (size_t)(le - ls));
		tl = next_tok(&q, le, &t);
		if (tl == 0 || parse_hex(t, tl, &op.len) != 0)
			parse_fail(lineno, "bad or missing length (expected 0x + lowercase hex, max 64 bits)",
				   ls, (size_t)(le - ls));
		if (op.addr + op.len < op.addr || op.addr + op.len > UINT64_MAX - PAGE_SZ)
			parse_fail(lineno, "address + length overflows 64 bits", ls, (size_t)(le - ls));
		if (trace_version == 2) {
			parse_v2_tail(&op, q, le, lineno, ls);
			ops[nops++] = op;
			continue;
		}
		if (nargs == 3) {
			tl = next_tok(&q, le, &t);
			if (op.kind == OP_TOUCH) {
				if (tok_eq(t, tl, "write"))
					op.sub = 1;
				else if (tok_eq(t, tl, "read"))
					op.sub = 0;
				else
					parse_fail(lineno, "touch needs 'write' or 'read'", ls, (size_t)(le - ls));
			} else {
				if (tok_eq(t, tl, "dontneed"))
					op.sub = 0;
				else if (tok_eq(t, tl, "free"))
					op.sub = 1;
				else
					parse_fail(lineno, "madvise needs 'dontneed' or 'free'", ls,
						   (size_t)(le - ls));
			}
		}
		tl = next_tok(&q, le, &t);
		if (tl != 0)
			parse_fail(lineno, "trailing garbage", ls, (size_t)(le - ls));
		ops[nops++] = op;
	}
	*nops_out = nops;
	return ops;
}

/* plain hex without prefix (as in /proc/self/maps) */
static int parse_raw_hex(const char *t, size_t n, uint64_t *out)
{
	if (n == 0 || n > 16)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -1;
		v = (v << 4) | d;
	}
	*out = v;
	return 0;
}

/* Reads /proc/self/maps into an interval set: the helper's own mappings. */
static void load_own_maps(struct ivset *own)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(3, "cannot open /proc/self/maps");
	struct buf b;
	read_all(fd, &b);
	close(fd);
	size_t lines = 1;
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] == '\n')
			lines++;
	own->cap = lines + 8;
	own->n = 0;
	own->v = map_zeroed(own->cap * sizeof(struct iv));
	const char *p = b.p, *end = b.p + b.len;
	while (p < end) {
		const char *le = memchr(p, '\n', (size_t)(end - p));
		if (!le)
			le = end;
		const char *dash = memchr(p, '-', (size_t)(le - p));
		const char *sp = dash ? memchr(dash, ' ', (size_t)(le - dash)) : NULL;
		uint64_t lo, hi;
		if (dash && sp && parse_raw_hex(p, (size_t)(dash - p), &lo) == 0 &&
		    parse_raw_hex(dash + 1, (size_t)(sp - dash - 1), &hi) == 0 && lo < hi) {
			/* the stack grows down: protect a generous slack below it */
			if (memmem(sp, (size_t)(le - sp), "[stack]", 7) != NULL)
				lo = lo > (64ULL << 20) ? lo - (64ULL << 20) : 0;
			if (iv_add(own, lo, hi) != 0)
				die(1, "internal: own-maps interval set overflow");
		}
		p = le + 1;
	}
	munmap(b.p, b.cap);
}

/* ------------------------------------------------------------------ */
/* replay                                                              */

static volatile uint8_t read_sink;

static void do_touch(uint64_t addr, uint64_t len, int write)
{
	uint64_t p = addr & ~(PAGE_SZ - 1), end = addr + len;
	if (write) {
		for (; p < end; p += PAGE_SZ)
			*(volatile uint8_t *)(uintptr_t)p = 1;
	} else {
		uint8_t acc = 0;
		for (; p < end; p += PAGE_SZ)
			acc ^= *(volatile uint8_t *)(uintptr_t)p;
		read_sink = acc;
	}
}

/* returns 0 or an errno value */
static int exec_op(const struct op *op, struct ivset *mine, const struct ivset *own)
{
	uint64_t lo = op->addr & ~(PAGE_SZ - 1);
	uint64_t hi = round_up_page(op->addr + op->len);
	switch (op->kind) {
	case OP_MMAP: {
		void *want = (void *)(uintptr_t)op->addr;
		void *r = mmap(want, (size_t)op->len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
		if (r == MAP_FAILED)
			return errno;
		if (r != want) {
			/* kernel without MAP_FIXED_NOREPLACE: placed elsewhere */
			munmap(r, (size_t)op->len);
			return EEXIST;
		}
		if (iv_add(mine, op->addr, round_up_page(op->addr + op->len)) != 0)
			return ENOMEM; /* cannot happen: capacity = #ops + 2 */
		return 0;
	}
	case OP_MUNMAP:
		if (iv_intersects(own, lo, hi))
			return EFAULT;
		if (munmap((void *)(uintptr_t)op->addr, (size_t)op->len) != 0)
			return errno;
		if (iv_remove(mine, op->addr, round_up_page(op->addr + op->len)) != 0)
			return ENOMEM;
		return 0;
	case OP_TOUCH:
		if (op->len == 0)
			return 0;
		if (!iv_covers(mine, lo, hi) || iv_intersects(own, lo, hi))
			return EFAULT;
		do_touch(op->addr, op->len, (int)op->sub);
		return 0;
	case OP_MADVISE:
		if (iv_intersects(own, lo, hi))
			return EFAULT;
		if (madvise((void *)(uintptr_t)op->addr, (size_t)op->len,
			    op->sub ? MADV_FREE : MADV_DONTNEED) != 0)
			return errno;
		return 0;
	}
	return EINVAL;
}

/* ------------------------------------------------------------------ */
/* v2 replay                                                           */

/* Creates the trace's files; exits 3 on a tmpfs/ramfs temp dir. */
static void setup_files(void)
{
	if (nfiles == 0)
		return;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	struct statfs sf;
	if (statfs(tmp, &sf) != 0) {
		fprintf(stderr, "ptreclaim-oracle: cannot statfs the temporary directory %s: %s\n", tmp,
			strerror(errno));
		exit(3);
	}
	if ((unsigned long)sf.f_type == TMPFS_MAGIC_ || (unsigned long)sf.f_type == RAMFS_MAGIC_) {
		fprintf(stderr, "ptreclaim-oracle: the temporary directory %s is on tmpfs/ramfs; file= "
				"mappings need a disk filesystem (point TMPDIR at a directory on one)\n", tmp);
		exit(3);
	}
	char dir[4096];
	if ((size_t)snprintf(dir, sizeof(dir), "%s/ptreclaim-oracle-XXXXXX", tmp) >= sizeof(dir) ||
	    !mkdtemp(dir)) {
		fprintf(stderr, "ptreclaim-oracle: cannot create a scratch directory under %s: %s\n", tmp,
			strerror(errno));
		exit(3);
	}
	for (int i = 0; i < nfiles; i++) {
		char path[4096 + MAX_FILE_NAME + 2];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, files[i].name) >= sizeof(path))
			die(1, "scratch path too long");
		files[i].fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		int e = errno;
		struct stat st;
		if (files[i].fd >= 0 && fstat(files[i].fd, &st) == 0) {
			files[i].ino = (uint64_t)st.st_ino;
			files[i].dev_major = major(st.st_dev);
			files[i].dev_minor = minor(st.st_dev);
		}
		/* unlinked at once: the descriptor keeps the file alive, nothing is left behind */
		unlink(path);
		if (files[i].fd < 0) {
			rmdir(dir);
			fprintf(stderr, "ptreclaim-oracle: cannot create %s: %s\n", path, strerror(e));
			exit(1);
		}
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, "ptreclaim-oracle: warning: cannot remove %s: %s\n", dir, strerror(errno));
}

/* /proc/self/maps and /proc/self/pagemap, read during the replay without allocation */
static char maps_buf[4 << 20] __attribute__((aligned(4096)));
static uint64_t pagemap_buf[512];
static int pagemap_fd = -1;

static size_t read_self_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, maps_buf + n, sizeof(maps_buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(maps_buf)) {
			n = 0; /* does not fit: treat as unknown */
			break;
		}
	}
	close(fd);
	return n;
}

static const char *skip_field(const char *p, const char *le)
{
	while (p < le && *p != ' ')
		p++;
	while (p < le && *p == ' ')
		p++;
	return p;
}

struct maps_line {
	uint64_t lo, hi, off, ino, dmaj, dmin;
	char perm[4];
};

/* One /proc/self/maps line at *pp (advanced past it); 0 or -1. */
static int parse_maps_line(const char **pp, const char *end, struct maps_line *m)
{
	const char *p = *pp;
	const char *le = memchr(p, '\n', (size_t)(end - p));
	if (!le)
		le = end;
	*pp = le + 1;
	const char *dash = memchr(p, '-', (size_t)(le - p));
	const char *sp = dash ? memchr(dash, ' ', (size_t)(le - dash)) : NULL;
	if (!dash || !sp || le - sp < 5 || parse_raw_hex(p, (size_t)(dash - p), &m->lo) != 0 ||
	    parse_raw_hex(dash + 1, (size_t)(sp - dash - 1), &m->hi) != 0)
		return -1;
	const char *perm = sp + 1;
	memcpy(m->perm, perm, 4);
	const char *f = skip_field(perm, le); /* offset */
	const char *g = skip_field(f, le);    /* dev MAJ:MIN */
	const char *h = skip_field(g, le);    /* inode */
	const char *fe = f;
	while (fe < le && *fe != ' ')
		fe++;
	m->off = m->ino = m->dmaj = m->dmin = 0;
	(void)parse_raw_hex(f, (size_t)(fe - f), &m->off);
	const char *colon = memchr(g, ':', (size_t)(le - g));
	if (colon && colon < h) {
		const char *ge = colon;
		while (ge < le && *ge != ' ')
			ge++;
		(void)parse_raw_hex(g, (size_t)(colon - g), &m->dmaj);
		(void)parse_raw_hex(colon + 1, (size_t)(ge - colon - 1), &m->dmin);
	}
	while (h < le && *h >= '0' && *h <= '9')
		m->ino = m->ino * 10 + (uint64_t)(*h++ - '0');
	return 0;
}

/* Shared anonymous mappings: their shmem object is as large as the mmap was. */
#define MAX_SHMEM_OBJS 4096
static struct {
	uint64_t ino, dmaj, dmin, size;
} shmem_objs[MAX_SHMEM_OBJS];
static int nshmem_objs;

/* Size of the object behind a mapping, UINT64_MAX when unknown. */
static uint64_t object_size(const struct maps_line *m)
{
	for (int i = 0; i < nfiles; i++)
		if (files[i].ino == m->ino && files[i].dev_major == m->dmaj && files[i].dev_minor == m->dmin)
			return files[i].size;
	for (int i = 0; i < nshmem_objs; i++)
		if (shmem_objs[i].ino == m->ino && shmem_objs[i].dmaj == m->dmaj && shmem_objs[i].dmin == m->dmin)
			return shmem_objs[i].size;
	return UINT64_MAX;
}

/* After a shared anonymous mmap at addr: note its shmem object's identity and size. */
static void note_shmem_object(uint64_t addr, uint64_t len)
{
	size_t n = read_self_maps();
	const char *p = maps_buf, *end = maps_buf + n;
	struct maps_line m;
	if (nshmem_objs == MAX_SHMEM_OBJS)
		return; /* the SIGBUS net still stands behind touch */
	while (p < end && parse_maps_line(&p, end, &m) == 0) {
		if (m.lo != addr)
			continue;
		shmem_objs[nshmem_objs].ino = m.ino;
		shmem_objs[nshmem_objs].dmaj = m.dmaj;
		shmem_objs[nshmem_objs].dmin = m.dmin;
		shmem_objs[nshmem_objs].size = round_up_page(len);
		nshmem_objs++;
		return;
	}
}

/*
 * 0 when every page of [lo, hi) can be accessed (write or read) without a
 * fatal fault, else EFAULT. The kernel's view: VMAs and prot from
 * /proc/self/maps, file size for pages past EOF (SIGBUS), guard markers from
 * pagemap. Shared anonymous mappings count as files of their mmap length
 * (mremap can grow the mapping past it: SIGBUS there).
 */
static int touch_check_v2(uint64_t lo, uint64_t hi, int write)
{
	size_t n = read_self_maps();
	if (n == 0)
		return EFAULT;
	uint64_t cur = lo;
	const char *p = maps_buf, *end = maps_buf + n;
	struct maps_line m;
	while (p < end && cur < hi) {
		if (parse_maps_line(&p, end, &m) != 0)
			return EFAULT;
		if (m.hi <= cur)
			continue;
		if (m.lo > cur)
			return EFAULT; /* a hole */
		if (m.perm[0] != 'r' || (write && m.perm[1] != 'w'))
			return EFAULT;
		uint64_t upto = m.hi < hi ? m.hi : hi;
		if (m.ino != 0) {
			uint64_t size = object_size(&m);
			/* file offset of the end of the touched part must not pass EOF (SIGBUS) */
			if (size != UINT64_MAX && m.off + (upto - m.lo) > size)
				return EFAULT;
		}
		cur = upto;
	}
	if (cur < hi)
		return EFAULT;
	for (uint64_t a = lo; a < hi;) {
		uint64_t pages = (hi - a) / PAGE_SZ;
		if (pages > 512)
			pages = 512;
		ssize_t r = pread(pagemap_fd, pagemap_buf, pages * 8, (off_t)(a / PAGE_SZ * 8));
		if (r != (ssize_t)(pages * 8))
			return EFAULT;
		for (uint64_t k = 0; k < pages; k++)
			if (pagemap_buf[k] & PM_GUARD_REGION_)
				return EFAULT;
		a += pages * PAGE_SZ;
	}
	return 0;
}

/* Safety net: a fatal fault the check missed ends the touch with EFAULT. */
static sigjmp_buf touch_jmp;
static volatile sig_atomic_t touch_armed, touch_trapped;

static void touch_fault_handler(int sig)
{
	if (touch_armed) {
		touch_armed = 0;
		touch_trapped++;
		siglongjmp(touch_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_touch_net(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = touch_fault_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static int guarded_touch(uint64_t addr, uint64_t len, int write)
{
	if (sigsetjmp(touch_jmp, 1) != 0)
		return EFAULT;
	touch_armed = 1;
	do_touch(addr, len, write);
	touch_armed = 0;
	return 0;
}

/* returns 0 or an errno value */
static int exec_op_v2(const struct op *op, const struct ivset *own)
{
	uint64_t lo = op->addr & ~(PAGE_SZ - 1);
	uint64_t hi = round_up_page(op->addr + op->len);
	void *a = (void *)(uintptr_t)op->addr;
	switch (op->kind) {
	case OP_MMAP: {
		int flags = (op->flags & OPF_SHARED ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED_NOREPLACE |
			    MAP_NORESERVE;
		int fd = -1;
		if (op->flags & OPF_FILE) {
			struct trace_file *f = &files[op->file];
			fd = f->fd;
			if (f->size < op->offset + op->len) {
				if (ftruncate(fd, (off_t)(op->offset + op->len)) != 0)
					return errno;
				f->size = op->offset + op->len;
			}
		} else {
			flags |= MAP_ANONYMOUS;
		}
		void *r = mmap(a, (size_t)op->len, (int)op->sub, flags, fd, (off_t)op->offset);
		if (r == MAP_FAILED)
			return errno;
		if (r != a) {
			munmap(r, (size_t)op->len);
			return EEXIST;
		}
		if ((op->flags & (OPF_SHARED | OPF_FILE)) == OPF_SHARED)
			note_shmem_object(op->addr, op->len);
		return 0;
	}
	case OP_MUNMAP:
		if (iv_intersects(own, lo, hi))
			return EFAULT;
		return munmap(a, (size_t)op->len) != 0 ? errno : 0;
	case OP_MPROTECT:
		if (iv_intersects(own, lo, hi))
			return EFAULT;
		return mprotect(a, (size_t)op->len, (int)op->sub) != 0 ? errno : 0;
	case OP_MREMAP: {
		void *r;
		if (iv_intersects(own, lo, hi))
			return EFAULT;
		if (op->flags & OPF_NEWADDR)
			r = mremap(a, (size_t)op->len, (size_t)op->len2, MREMAP_MAYMOVE | MREMAP_FIXED,
				   (void *)(uintptr_t)op->addr2);
		else
			r = mremap(a, (size_t)op->len, (size_t)op->len2, 0);
		return r == MAP_FAILED ? errno : 0;
	}
	case OP_TOUCH: {
		if (op->len == 0)
			return 0;
		if (iv_intersects(own, lo, hi))
			return EFAULT;
		int e = touch_check_v2(lo, hi, (int)op->sub);
		return e ? e : guarded_touch(op->addr, op->len, (int)op->sub);
	}
	case OP_MADVISE:
		if (iv_intersects(own, lo, hi))
			return EFAULT;
		return madvise(a, (size_t)op->len, advice_table[op->sub].advice) != 0 ? errno : 0;
	}
	return EINVAL;
}

/* The range an op may create or replace mappings in beyond [addr, addr+len). */
static int op_extra_range(const struct op *op, uint64_t *lo, uint64_t *hi)
{
	if (op->kind != OP_MREMAP)
		return 0;
	if (op->flags & OPF_NEWADDR) {
		*lo = op->addr2 & ~(PAGE_SZ - 1);
		*hi = round_up_page(op->addr2 + op->len2);
	} else {
		*lo = op->addr & ~(PAGE_SZ - 1);
		*hi = round_up_page(op->addr + op->len2);
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* khugepaged: detect background collapses, keep out of the replay     */

#define THP_SYSFS "/sys/kernel/mm/transparent_hugepage/"

struct khp_counters {
	long pages_collapsed, full_scans, collapse_alloc, collapse_alloc_failed;
};

static long read_long_file(const char *path)
{
	char b[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	b[r] = 0;
	return strtol(b, NULL, 10);
}

static long vmstat_field(const char *buf, size_t n, const char *key)
{
	long v;
	/* /proc/vmstat is "key value" lines; reuse the status parser with a space separator */
	size_t klen = strlen(key);
	for (size_t pos = 0; pos < n;) {
		if (n - pos > klen + 1 && memcmp(buf + pos, key, klen) == 0 && buf[pos + klen] == ' ') {
			v = strtol(buf + pos + klen + 1, NULL, 10);
			return v;
		}
		while (pos < n && buf[pos] != '\n')
			pos++;
		pos++;
	}
	return -1;
}

static void read_khp(struct khp_counters *c)
{
	static char vm[65536];
	c->pages_collapsed = read_long_file(THP_SYSFS "khugepaged/pages_collapsed");
	c->full_scans = read_long_file(THP_SYSFS "khugepaged/full_scans");
	c->collapse_alloc = c->collapse_alloc_failed = -1;
	int fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t n = 0;
	ssize_t r;
	while ((r = read(fd, vm + n, sizeof(vm) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	vm[n] = 0;
	c->collapse_alloc = vmstat_field(vm, n, "thp_collapse_alloc");
	c->collapse_alloc_failed = vmstat_field(vm, n, "thp_collapse_alloc_failed");
}

/* Is PMD THP enabled at all (always or madvise)? */
static int thp_pmd_enabled(void)
{
	char b[128];
	int fd = open(THP_SYSFS "enabled", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	b[r] = 0;
	return strstr(b, "[never]") == NULL;
}

/*
 * khugepaged scans at once when the first mm registers with it (it was idle),
 * then sleeps scan_sleep_millisecs between passes; a later registration does
 * not wake it early. So: register this mm now (MADV_HUGEPAGE on an untouched
 * 4 MiB area of the helper's own: no page is ever faulted there), wait briefly
 * for the pass that registration triggers (full_scans moves), and the replay
 * then starts at the beginning of a full sleep period. No host setting is
 * changed. Returns 1 when a pass was seen, 0 when not (khugepaged was busy
 * elsewhere or asleep), -1 when THP is off (nothing to do).
 */
static int khugepaged_quiesce(void **area)
{
	*area = NULL;
	if (!thp_pmd_enabled())
		return -1;
	long before = read_long_file(THP_SYSFS "khugepaged/full_scans");
	void *p = mmap(NULL, 2 * PMD_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return 0;
	*area = p;
	if (madvise(p, 2 * PMD_SZ, MADV_HUGEPAGE) != 0)
		return 0;
	for (int i = 0; i < 50; i++) { /* up to 50 ms */
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		long now = read_long_file(THP_SYSFS "khugepaged/full_scans");
		if (now >= 0 && before >= 0 && now != before)
			return 1;
	}
	return 0;
}

/* MADV_FREE/COLD/PAGEOUT drain only this CPU's LRU batch: stay on one CPU. */
static int pin_to_current_cpu(void)
{
	int cpu = sched_getcpu();
	if (cpu < 0)
		return -1;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? cpu : -1;
}

static void __attribute__((noinline)) pretouch_stack(void)
{
	volatile char pad[256 * 1024];
	for (size_t i = 0; i < sizeof(pad); i += 1024)
		pad[i] = 0;
}

/* Call every libc entry point the replay uses once, so lazy binding and
 * vDSO setup happen before the "before" snapshot. */
static void warm_up(struct ivset *scratch_set)
{
	struct snap s;
	static char a[64], b[64];
	pretouch_stack();
	memset(status_buf, 0, sizeof(status_buf));
	(void)now_ns();
	(void)now_ns();
	(void)take_snapshot(&s);
	(void)take_snapshot(&s);
	memmove(a, b, sizeof(a));
	memcpy(b, a, sizeof(b));
	memset(a, 0, sizeof(a));
	(void)strlen(a);
	(void)memcmp(a, b, sizeof(a));
	/* invalid on purpose: length 0 -> EINVAL, touches nothing */
	(void)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	(void)munmap((void *)PAGE_SZ, 0);
	(void)madvise((void *)PAGE_SZ, 0, MADV_DONTNEED);
	(void)madvise((void *)(PAGE_SZ + 1), PAGE_SZ, MADV_DONTNEED);
	errno = 0;
	/* exercise the interval code on a scratch copy */
	(void)iv_add(scratch_set, 0x1000, 0x3000);
	(void)iv_add(scratch_set, 0x5000, 0x6000);
	(void)iv_remove(scratch_set, 0x2000, 0x5800);
	(void)iv_covers(scratch_set, 0x1000, 0x2000);
	(void)iv_intersects(scratch_set, 0x1000, 0x2000);
	scratch_set->n = 0;
	do_touch((uint64_t)(uintptr_t)a, 1, 1);
	do_touch((uint64_t)(uintptr_t)a, 1, 0);
	pretouch_stack();
}

static void warm_up_v2(void)
{
	static char a[64];
	memset(maps_buf, 0, sizeof(maps_buf));
	memset(pagemap_buf, 0, sizeof(pagemap_buf));
	install_touch_net();
	(void)read_self_maps();
	(void)touch_check_v2((uint64_t)(uintptr_t)a & ~(PAGE_SZ - 1),
			     ((uint64_t)(uintptr_t)a & ~(PAGE_SZ - 1)) + PAGE_SZ, 1);
	(void)guarded_touch((uint64_t)(uintptr_t)a, 1, 1);
	/* invalid on purpose (EINVAL / EBADF): binds the symbols, changes nothing */
	(void)mprotect((void *)(PAGE_SZ + 1), PAGE_SZ, PROT_READ);
	(void)mremap((void *)(PAGE_SZ + 1), PAGE_SZ, PAGE_SZ, 0);
	(void)mremap((void *)(PAGE_SZ + 1), PAGE_SZ, PAGE_SZ, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)PAGE_SZ);
	(void)ftruncate(-1, 0);
	errno = 0;
}

/* v2 and host-wide facts appended to the JSON (also for v1: cpu, khugepaged) */
static void print_v2_extras(int cpu, int quiesced, const struct khp_counters *k0,
			    const struct khp_counters *k1, const long *per_v2, size_t nops)
{
	printf(",\"traceVersion\":%d,\"cpu\":%d", trace_version, cpu);
	printf(",\"khugepaged\":{\"quiesce\":\"%s\",\"pagesCollapsed\":[%ld,%ld],\"fullScans\":[%ld,%ld],"
	       "\"thpCollapseAlloc\":[%ld,%ld],\"thpCollapseAllocFailed\":[%ld,%ld],"
	       "\"pagesCollapsedDuringReplay\":%ld}",
	       no_quiesce ? "disabled" : quiesced < 0 ? "not-needed" : quiesced ? "pass-seen" : "no-pass-seen", k0->pages_collapsed,
	       k1->pages_collapsed, k0->full_scans, k1->full_scans, k0->collapse_alloc, k1->collapse_alloc,
	       k0->collapse_alloc_failed, k1->collapse_alloc_failed,
	       k0->pages_collapsed >= 0 && k1->pages_collapsed >= 0 ? k1->pages_collapsed - k0->pages_collapsed
								       : -1);
	if (trace_version == 2)
		printf(",\"touchTrapped\":%d", (int)touch_trapped);
	if (per_v2) {
		printf(",\"perOpFileShmem\":[");
		for (size_t i = 0; i < nops; i++)
			printf("%s[%ld,%ld]", i ? "," : "", per_v2[2 * i], per_v2[2 * i + 1]);
		putchar(']');
	}
}

/* Exit 4 when any op's range meets one of the helper's own mappings. */
static void refuse_own_overlap(const struct op *ops, size_t nops, const struct ivset *own)
{
	for (size_t i = 0; i < nops; i++) {
		uint64_t lo = ops[i].addr & ~(PAGE_SZ - 1), hi = round_up_page(ops[i].addr + ops[i].len);
		uint64_t xlo, xhi;
		if (!iv_intersects(own, lo, hi) && op_extra_range(&ops[i], &xlo, &xhi) &&
		    iv_intersects(own, xlo, xhi)) {
			lo = xlo;
			hi = xhi;
		}
		if (!iv_intersects(own, lo, hi))
			continue;
		size_t k = iv_lower(own, lo);
		fprintf(stderr,
			"ptreclaim-oracle: address in use: op #%zu (input line %llu, %s 0x%llx 0x%llx) overlaps the "
			"helper's own mapping 0x%llx-0x%llx (its code, libc, stack or heap); move the trace's "
			"addresses away from it (0x100000000000-0x500000000000 is clear of them)\n",
			i, (unsigned long long)ops[i].line, kind_names[ops[i].kind], (unsigned long long)ops[i].addr,
			(unsigned long long)ops[i].len, (unsigned long long)own->v[k].lo,
			(unsigned long long)own->v[k].hi);
		exit(4);
	}
}

static void print_snap(const char *name, const struct snap *s)
{
	printf("\"%s\":{\"vmPteKb\":%ld,\"rssAnonKb\":%ld,\"rssFileKb\":%ld,\"rssShmemKb\":%ld,\"swapKb\":%ld}",
	       name, s->vmpte, s->rssanon, s->rssfile, s->rssshmem, s->swap);
}

/* --op-times: one u64 per op, preallocated and pre-faulted before the replay, so
 * recording costs a store; printed only after the measurement is over. */
static uint64_t *alloc_op_times(size_t nops)
{
	return map_zeroed(nops * sizeof(uint64_t));
}

static void print_op_times(const uint64_t *op_ns, size_t nops)
{
	printf(",\"opNs\":[");
	for (size_t i = 0; i < nops; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)op_ns[i]);
	putchar(']');
}

/* --progress-fd: see the header comment. Static so that a record is a store
 * into memory touched before the "before" snapshot. */
static int progress_fd = -1;
static uint64_t progress_interval_ns = 100 * 1000 * 1000ULL;
static uint64_t progress_next_ns;
static uint64_t progress_record[2];
static uint64_t progress_sent = UINT64_MAX; /* done ops of the last record written */

static void progress_write(uint64_t done, uint64_t total)
{
	progress_record[0] = done;
	progress_record[1] = total;
	/* 16 bytes go whole or not at all (PIPE_BUF; one skb on a socket). A
	 * partial write would misalign the stream: stop reporting then. */
	ssize_t n = write(progress_fd, progress_record, sizeof(progress_record));
	if (n == (ssize_t)sizeof(progress_record))
		progress_sent = done;
	else if (n >= 0)
		progress_fd = -1;
}

/* Before the "before" snapshot: non-blocking, and the first record binds
 * write() and touches the record buffer. */
static void progress_start(uint64_t total)
{
	if (progress_fd < 0)
		return;
	int fl = fcntl(progress_fd, F_GETFL);
	if (fl < 0 || fcntl(progress_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die(2, "--progress-fd: not an open descriptor");
	progress_write(0, total);
	progress_next_ns = now_ns() + progress_interval_ns;
}

/* In the replay loop, after op i: `now` is the clock read that timed it. */
static inline void progress_tick(size_t i, uint64_t total, uint64_t now)
{
	if (progress_fd < 0 || now < progress_next_ns)
		return;
	progress_write(i + 1, total);
	progress_next_ns = now + progress_interval_ns;
}

/* After the measurement: the last record may wait for the reader. */
static void progress_end(uint64_t total)
{
	if (progress_fd < 0)
		return;
	int fl = fcntl(progress_fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(progress_fd, F_SETFL, fl & ~O_NONBLOCK);
	if (progress_sent != total)
		progress_write(total, total);
	close(progress_fd);
	progress_fd = -1;
}

static int run_replay(int in_fd, int per_op, int op_times)
{
	struct buf in;
	read_all(in_fd, &in);
	if (in_fd != 0)
		close(in_fd);
	size_t nops = 0;
	struct op *ops = parse_trace(&in, &nops);
	munmap(in.p, in.cap);

	size_t n_map_ops = 0;
	for (size_t i = 0; i < nops; i++)
		if (ops[i].kind == OP_MMAP || ops[i].kind == OP_MUNMAP)
			n_map_ops++;

	struct ivset mine = { NULL, 0, n_map_ops + 2 };
	mine.v = map_zeroed(mine.cap * sizeof(struct iv));
	struct ivset scratch = { NULL, 0, 4 };
	scratch.v = map_zeroed(scratch.cap * sizeof(struct iv));
	struct op_err *errs = map_zeroed(nops * sizeof(struct op_err));
	size_t nerrs = 0;
	long *per = NULL;
	if (per_op)
		per = map_zeroed(nops * 2 * sizeof(long));
	uint64_t *op_ns = op_times ? alloc_op_times(nops) : NULL;
	uint64_t time_ns[OP_NKINDS] = { 0 }, counts[OP_NKINDS] = { 0 };
	long *per_v2 = NULL; /* v2 --per-op: RssFile, RssShmem after each op */
	void *khp_area = NULL;
	int khp_quiesced = -1;
	if (trace_version == 2) {
		if (per_op)
			per_v2 = map_zeroed(nops * 2 * sizeof(long));
		setup_files();
		pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pagemap_fd < 0)
			die(3, "cannot open /proc/self/pagemap (needed to see guard markers)");
		if (!no_quiesce)
			khp_quiesced = khugepaged_quiesce(&khp_area);
	}

	struct ivset own;
	load_own_maps(&own); /* after every allocation above */
	refuse_own_overlap(ops, nops, &own);

	int cpu = pin_to_current_cpu();
	if (trace_version == 2)
		warm_up_v2();
	warm_up(&scratch);
	/*
	 * Keep the helper's own pages resident: a host that reclaims cold pages on its own
	 * (DAMON's pageout scheme runs on these machines) could evict a page of this
	 * program before the replay and fault it back during it, moving RssFile by a page
	 * that no trace op caused. Only the mappings that exist now are locked; the trace's
	 * own mappings come later and stay as the trace makes them. Best effort: without
	 * the privilege or the RLIMIT_MEMLOCK it needs, the replay runs as before.
	 */
	(void)mlockall(MCL_CURRENT);
	progress_start(nops);
	struct khp_counters khp0, khp1;
	read_khp(&khp0);

	struct snap before, after, cur;
	snapshot_or_die(&before);
	uint64_t wall0 = now_ns();
	for (size_t i = 0; i < nops; i++) {
		const struct op *op = &ops[i];
		uint64_t t0 = now_ns();
		int e = trace_version == 2 ? exec_op_v2(op, &own) : exec_op(op, &mine, &own);
		uint64_t t1 = now_ns();
		time_ns[op->kind] += t1 - t0;
		if (op_ns)
			op_ns[i] = t1 - t0;
		counts[op->kind]++;
		if (e) {
			errs[nerrs].index = (uint32_t)i;
			errs[nerrs].err = e;
			nerrs++;
		}
		if (per_op) {
			if (take_snapshot(&cur) != 0) {
				cur.vmpte = -1;
				cur.rssanon = -1;
			}
			per[2 * i] = cur.vmpte;
			per[2 * i + 1] = cur.rssanon;
			if (per_v2) {
				per_v2[2 * i] = cur.rssfile;
				per_v2[2 * i + 1] = cur.rssshmem;
			}
		}
		progress_tick(i, nops, t1);
	}
	uint64_t wall1 = now_ns();
	snapshot_or_die(&after);
	read_khp(&khp1);
	progress_end(nops);

	/* measurement over: stdio allowed from here on */
	printf("{\"ok\":true,\"version\":\"%s\",\"ops\":%zu,", ORACLE_VERSION, nops);
	print_snap("before", &before);
	putchar(',');
	print_snap("after", &after);
	printf(",\"errors\":[");
	for (size_t k = 0; k < nerrs; k++) {
		int e = errs[k].err;
		printf("%s{\"index\":%u,\"op\":\"%s\",\"errno\":%d,\"name\":\"%s\"}", k ? "," : "",
		       errs[k].index, kind_names[ops[errs[k].index].kind], e, errno_name(e));
	}
	int nkinds = trace_version == 2 ? OP_NKINDS : OP_V1_NKINDS;
	printf("],\"timeNs\":{");
	for (int k = 0; k < nkinds; k++)
		printf("%s\"%s\":%llu", k ? "," : "", kind_names[k], (unsigned long long)time_ns[k]);
	printf("},\"counts\":{");
	for (int k = 0; k < nkinds; k++)
		printf("%s\"%s\":%llu", k ? "," : "", kind_names[k], (unsigned long long)counts[k]);
	printf("},\"wallNs\":%llu", (unsigned long long)(wall1 - wall0));
	printf(",\"helperMappings\":[");
	for (size_t k = 0; k < own.n; k++)
		printf("%s[\"0x%llx\",\"0x%llx\"]", k ? "," : "", (unsigned long long)own.v[k].lo,
		       (unsigned long long)own.v[k].hi);
	putchar(']');
	if (per_op) {
		printf(",\"perOp\":[");
		for (size_t i = 0; i < nops; i++)
			printf("%s[%ld,%ld]", i ? "," : "", per[2 * i], per[2 * i + 1]);
		putchar(']');
	}
	if (op_ns)
		print_op_times(op_ns, nops);
	print_v2_extras(cpu, khp_quiesced, &khp0, &khp1, per_v2, nops);
	(void)khp_area; /* stays mapped (untouched) until exit */
	printf("}\n");
	if (fflush(stdout) != 0)
		return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* probes                                                              */

static int probe_placement(const char *list)
{
	enum { MAXN = 256 };
	static uint64_t lens[MAXN];
	static uintptr_t addrs[MAXN];
	size_t n = 0;
	const char *p = list;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (n == MAXN) {
			fprintf(stderr, "ptreclaim-oracle: --probe-placement: at most %d lengths\n", MAXN);
			return 2;
		}
		if (parse_cli_num(p, l, &lens[n]) != 0 || lens[n] == 0) {
			fprintf(stderr, "ptreclaim-oracle: --probe-placement: bad length \"%.*s\" "
					"(expected non-zero hex 0x... or decimal)\n", (int)l, p);
			return 2;
		}
		n++;
		if (!c)
			break;
		p = c + 1;
	}
	for (size_t i = 0; i < n; i++) {
		void *r = mmap(NULL, (size_t)lens[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (r == MAP_FAILED) {
			fprintf(stderr, "ptreclaim-oracle: --probe-placement: mmap #%zu (len 0x%llx) failed: %s\n",
				i, (unsigned long long)lens[i], strerror(errno));
			return 1;
		}
		addrs[i] = (uintptr_t)r;
	}
	printf("{\"addrs\":[");
	for (size_t i = 0; i < n; i++)
		printf("%s\"0x%llx\"", i ? "," : "", (unsigned long long)addrs[i]);
	printf("]}\n");
	return fflush(stdout) != 0;
}

static int probe_pt_reclaim(void)
{
	static const uint64_t candidates[] = {
		0x7e0000000000ULL, 0x7c0000000000ULL, 0x700000000000ULL, 0x680000000000ULL,
		0x600000000000ULL, 0x580000000000ULL, 0x500000000000ULL, 0x400000000000ULL,
	};
	const size_t span = 4ULL << 20;
	char *base = NULL;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		void *want = (void *)(uintptr_t)candidates[i];
		void *r = mmap(want, span, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
		if (r == MAP_FAILED)
			continue;
		if (r != want) {
			munmap(r, span);
			continue;
		}
		base = r;
		break;
	}
	if (!base)
		die(1, "--probe-pt-reclaim: no free 1 GiB-aligned candidate address found");
	struct snap s0, s1;
	pretouch_stack();
	memset(status_buf, 0, sizeof(status_buf));
	(void)take_snapshot(&s0);
	do_touch((uint64_t)(uintptr_t)base, PMD_SZ, 1);
	snapshot_or_die(&s0);
	if (madvise(base, PMD_SZ, MADV_DONTNEED) != 0) {
		fprintf(stderr, "ptreclaim-oracle: --probe-pt-reclaim: madvise failed: %s\n", strerror(errno));
		return 1;
	}
	snapshot_or_die(&s1);
	munmap(base, span);
	printf("{\"ptReclaim\":%s,\"vmPteBeforeKb\":%ld,\"vmPteAfterKb\":%ld,\"addr\":\"0x%llx\"}\n",
	       s0.vmpte - s1.vmpte >= 4 ? "true" : "false", s0.vmpte, s1.vmpte,
	       (unsigned long long)(uintptr_t)base);
	return fflush(stdout) != 0;
}

/* Page size and the user address width in use: a fixed mapping at 2^47 only
 * succeeds with 5-level paging (the 4-level TASK_SIZE ends just below it). */
static int probe_host(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *want = (void *)(uintptr_t)(1ULL << 47);
	void *r = mmap(want, PAGE_SZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int va_bits = 47;
	if (r != MAP_FAILED) {
		if (r == want)
			va_bits = 56;
		munmap(r, PAGE_SZ);
	}
	printf("{\"pageSize\":%ld,\"vaBits\":%d}\n", page, va_bits);
	return fflush(stdout) != 0;
}

/* ------------------------------------------------------------------ */

/* --progress-fd N (3 or more: 0-2 are the trace and the JSON) or
 * --progress-interval-ms MS (0 = a record after every op). */
static int parse_progress_flag(const char *flag, const char *value)
{
	char *end = NULL;
	long v = value ? strtol(value, &end, 10) : -1;
	int is_fd = strcmp(flag, "--progress-fd") == 0;
	if (!value || !*value || *end || v < (is_fd ? 3 : 0) || v > (is_fd ? 1 << 20 : 3600 * 1000)) {
		fprintf(stderr, "ptreclaim-oracle: %s needs %s, got \"%s\"\n", flag,
			is_fd ? "a descriptor number of 3 or more" : "a whole number of milliseconds (0-3600000)",
			value ? value : "");
		return 2;
	}
	if (is_fd)
		progress_fd = (int)v;
	else
		progress_interval_ns = (uint64_t)v * 1000 * 1000;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: ptreclaim-oracle [--input FILE] [--per-op] [--op-times] [--no-khugepaged-quiesce]\n"
	      "                          [--progress-fd N [--progress-interval-ms MS]]\n"
	      "       ptreclaim-oracle --probe-placement LEN1,LEN2,...\n"
	      "       ptreclaim-oracle --probe-pt-reclaim\n"
	      "       ptreclaim-oracle --host\n"
	      "       ptreclaim-oracle --version\n"
	      "Replays a canonical trace (stdin by default) and prints one JSON object.\n",
	      f);
}

/*
 * Die with the process that started us: a replay left running after ptreclaim was
 * stopped (Ctrl-C, a CI timeout's SIGTERM, even SIGKILL) would hold host memory with
 * nobody to read its result. The parent may have died before prctl() took effect, so
 * compare getppid() with the pid ptreclaim passed (PTRECLAIM_ORACLE_PARENT) afterwards.
 */
static void die_with_parent(void)
{
	const char *want = getenv("PTRECLAIM_ORACLE_PARENT");

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		return;
	if (want && *want && (long)getppid() != strtol(want, NULL, 10))
		_exit(128 + SIGKILL);
}

int main(int argc, char **argv)
{
	const char *input = NULL, *placement = NULL;
	int per_op = 0, op_times = 0, pt_probe = 0, host = 0, progress = 0;

	die_with_parent();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--version") == 0) {
			puts(ORACLE_VERSION);
			return 0;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--per-op") == 0) {
			per_op = 1;
		} else if (strcmp(a, "--op-times") == 0) {
			op_times = 1;
		} else if (strcmp(a, "--no-khugepaged-quiesce") == 0) {
			no_quiesce = 1;
		} else if (strcmp(a, "--probe-pt-reclaim") == 0) {
			pt_probe = 1;
		} else if (strcmp(a, "--host") == 0) {
			host = 1;
		} else if (strcmp(a, "--progress-fd") == 0 || strcmp(a, "--progress-interval-ms") == 0) {
			if (parse_progress_flag(a, i + 1 < argc ? argv[++i] : NULL) != 0)
				return 2;
			progress = 1;
		} else if (strcmp(a, "--input") == 0 || strcmp(a, "--probe-placement") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "ptreclaim-oracle: %s needs an argument\n", a);
				usage(stderr);
				return 2;
			}
			if (a[2] == 'i')
				input = argv[++i];
			else
				placement = argv[++i];
		} else {
			fprintf(stderr, "ptreclaim-oracle: unknown argument \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
	}
	if ((placement != NULL) + pt_probe + host + (input != NULL || per_op || op_times || no_quiesce || progress) > 1) {
		fputs("ptreclaim-oracle: --probe-placement, --probe-pt-reclaim, --host and replay options "
		      "are mutually exclusive\n", stderr);
		return 2;
	}
	if (sysconf(_SC_PAGESIZE) != (long)PAGE_SZ)
		die(3, "unsupported system: page size is not 4 KiB");
	if (host)
		return probe_host();
	if (placement)
		return probe_placement(placement);
	if (pt_probe)
		return probe_pt_reclaim();
	int fd = 0;
	if (input) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "ptreclaim-oracle: cannot open %s: %s\n", input, strerror(errno));
			return 2;
		}
	}
	return run_replay(fd, per_op, op_times);
}

#endif /* Linux x86-64 */
