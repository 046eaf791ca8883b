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

#define PAGE_SZ 4096ULL
#define PMD_SZ (2ULL << 20)
#define PUD_SZ (1ULL << 30)

enum op_kind { OP_MMAP = 0, OP_MUNMAP = 1, OP_TOUCH = 2, OP_MADVISE = 3, OP_NKINDS = 4 };
static const char *const kind_names[OP_NKINDS] = { "mmap", "munmap", "touch", "madvise" };

/* sub: touch 1 = write, 0 = read; madvise 0 = dontneed, 1 = free */
struct op {
	uint64_t addr;
	uint64_t len;
	uint32_t kind;
	uint32_t sub;
	uint64_t line; /* 1-based input line, for refusals */
};

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

/* Parses the whole buffer into a freshly mmap'd, pre-faulted op array. */
static struct op *parse_trace(const struct buf *b, size_t *nops_out)
{
	size_t max_lines = 1;
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] == '\n')
			max_lines++;
	struct op *ops = map_zeroed(max_lines * sizeof(struct op));
	size_t nops = 0, lineno = 0;
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
		struct op op = { 0, 0, 0, 0, lineno };
		int nargs;
		if (tok_eq(t, tl, "mmap")) {
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
			parse_fail(lineno, "unknown op (expected mmap, munmap, touch or madvise)", ls,
				   (size_t)(le - ls));
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

/* Exit 4 when any op's range meets one of the helper's own mappings. */
static void refuse_own_overlap(const struct op *ops, size_t nops, const struct ivset *own)
{
	for (size_t i = 0; i < nops; i++) {
		uint64_t lo = ops[i].addr & ~(PAGE_SZ - 1), hi = round_up_page(ops[i].addr + ops[i].len);
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

	struct ivset own;
	load_own_maps(&own); /* after every allocation above */
	refuse_own_overlap(ops, nops, &own);

	warm_up(&scratch);

	struct snap before, after, cur;
	snapshot_or_die(&before);
	uint64_t wall0 = now_ns();
	for (size_t i = 0; i < nops; i++) {
		const struct op *op = &ops[i];
		uint64_t t0 = now_ns();
		int e = exec_op(op, &mine, &own);
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
		}
	}
	uint64_t wall1 = now_ns();
	snapshot_or_die(&after);

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
	printf("],\"timeNs\":{");
	for (int k = 0; k < OP_NKINDS; k++)
		printf("%s\"%s\":%llu", k ? "," : "", kind_names[k], (unsigned long long)time_ns[k]);
	printf("},\"counts\":{");
	for (int k = 0; k < OP_NKINDS; k++)
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

static void usage(FILE *f)
{
	fputs("usage: ptreclaim-oracle [--input FILE] [--per-op] [--op-times]\n"
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
	int per_op = 0, op_times = 0, pt_probe = 0, host = 0;

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
		} else if (strcmp(a, "--probe-pt-reclaim") == 0) {
			pt_probe = 1;
		} else if (strcmp(a, "--host") == 0) {
			host = 1;
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
	if ((placement != NULL) + pt_probe + host + (input != NULL || per_op || op_times) > 1) {
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
