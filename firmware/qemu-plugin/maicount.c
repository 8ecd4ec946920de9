// maicount: microai's QEMU TCG plugin counting guest instructions between markers.
//
// Built against qemu-plugin.h of the installed QEMU (plugin API v1, QEMU 7.2) by
// firmware/qemu-plugin/build.sh; loaded by the host (host/microai/device/icount.py) as
//
//   -plugin build/qemu-plugin/libmaicount.so,begin=0x..,layer=0x..,end=0x..,out=FILE
//
// begin, layer and end are the addresses of the firmware's marker functions
// microai_mark_begin/_layer/_end (cmodules/microai/microai_profile.h), as the ELF's
// symbol table gives them: the Thumb bit (bit 0) is ignored.
//
// Counting. Every guest instruction adds 1 to one 64-bit counter through an inline op
// that QEMU emits into the translated code (no C call per instruction). Only the first
// instruction of each marker function gets a C callback instead of the inline op; the
// callback adds that instruction itself. A mark therefore reads the number of
// instructions executed before the marker's first instruction, exactly, whatever the
// translation blocks look like: an instruction that faults in the middle of a block
// still counts once and the rest of the block not at all, and the instructions QEMU
// re-executes for I/O under -icount are not counted twice (QEMU instruments those
// "mem_only"). Conditional instructions (IT blocks) count whether or not they pass.
// Nothing depends on wall-clock time: the same guest run gives the same numbers.
//
// Records. At begin a new record starts. Each layer mark appends the instructions since
// the previous mark (begin or layer). At end one line is written and flushed:
//
//   invoke seq=<n> total=<instructions from begin to end> layers=<n1>,<n2>,...
//
// (layers= is empty without layer marks). A begin while a record is open writes that
// record as `abort seq=<n> total=<so far> layers=...` first. A layer or end mark with no
// open record is counted in the stats and otherwise ignored. At exit one line:
//
//   stats insns=<all instructions executed> invokes=<n> aborts=<n> stray=<n>
//
// Single vCPU only (every Cortex-M machine microai uses has one): the counter and the
// record are plain globals, not per-vCPU; the plugin refuses to load for more vCPUs.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum mark { MARK_BEGIN, MARK_LAYER, MARK_END, MARK_COUNT };

static const char *const mark_names[MARK_COUNT] = { "begin", "layer", "end" };

// Marker addresses (bit 0 cleared) and whether each was given.
static uint64_t mark_addr[MARK_COUNT];
static int mark_set[MARK_COUNT];

// Instructions executed so far, all of them (the inline ops add to it).
static uint64_t insn_count;

// The open record.
static int rec_open;
static uint64_t rec_begin;  // insn_count at begin
static uint64_t rec_last;   // insn_count at the previous mark
static uint64_t *rec_layers;
static size_t rec_n, rec_cap;

static uint64_t n_invokes, n_aborts, n_stray, n_seq;
static FILE *out;

static void write_record(const char *kind, uint64_t now) {
    fprintf(out, "%s seq=%" PRIu64 " total=%" PRIu64 " layers=", kind, n_seq, now - rec_begin);
    for (size_t i = 0; i < rec_n; i++) {
        fprintf(out, i ? ",%" PRIu64 : "%" PRIu64, rec_layers[i]);
    }
    fputc('\n', out);
    fflush(out);
}

static void on_mark(unsigned int vcpu_index, void *userdata) {
    (void)vcpu_index;
    enum mark m = (enum mark)(uintptr_t)userdata;
    uint64_t now = insn_count;  // instructions before this marker's first instruction
    insn_count++;               // the marker's first instruction has no inline op
    switch (m) {
        case MARK_BEGIN:
            if (rec_open) {
                n_aborts++;
                write_record("abort", now);
            }
            rec_open = 1;
            n_seq++;
            rec_begin = rec_last = now;
            rec_n = 0;
            break;
        case MARK_LAYER:
            if (!rec_open) {
                n_stray++;
                break;
            }
            if (rec_n == rec_cap) {
                size_t cap = rec_cap ? 2 * rec_cap : 64;
                uint64_t *p = realloc(rec_layers, cap * sizeof(*p));
                if (p == NULL) {
                    n_stray++;  // out of host memory: drop this layer, keep counting
                    break;
                }
                rec_layers = p;
                rec_cap = cap;
            }
            rec_layers[rec_n++] = now - rec_last;
            rec_last = now;
            break;
        default:
            if (!rec_open) {
                n_stray++;
                break;
            }
            n_invokes++;
            write_record("invoke", now);
            rec_open = 0;
            break;
    }
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t va = qemu_plugin_insn_vaddr(insn);
        int m;
        for (m = 0; m < MARK_COUNT; m++) {
            if (mark_set[m] && va == mark_addr[m]) {
                break;
            }
        }
        if (m < MARK_COUNT) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
                (void *)(uintptr_t)m);
        } else {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                &insn_count, 1);
        }
    }
}

static void on_atexit(qemu_plugin_id_t id, void *p) {
    (void)id;
    (void)p;
    fprintf(out, "stats insns=%" PRIu64 " invokes=%" PRIu64 " aborts=%" PRIu64
        " stray=%" PRIu64 "\n", insn_count, n_invokes, n_aborts, n_stray);
    fflush(out);
    if (out != stderr) {
        fclose(out);
    }
    out = NULL;
    free(rec_layers);
    rec_layers = NULL;
}

static int fail(const char *msg, const char *arg) {
    fprintf(stderr, "maicount: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
    int argc, char **argv) {
    const char *out_path = NULL;
    if (info->system_emulation && info->system.max_vcpus > 1) {
        return fail("only a single vCPU is supported", NULL);
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        if (eq == NULL) {
            return fail("arguments are name=value", arg);
        }
        size_t len = (size_t)(eq - arg);
        if (len == 3 && strncmp(arg, "out", 3) == 0) {
            out_path = eq + 1;
            continue;
        }
        int m;
        for (m = 0; m < MARK_COUNT; m++) {
            if (strlen(mark_names[m]) == len && strncmp(arg, mark_names[m], len) == 0) {
                break;
            }
        }
        if (m == MARK_COUNT) {
            return fail("unknown argument (begin, layer, end, out)", arg);
        }
        char *end;
        unsigned long long v = strtoull(eq + 1, &end, 0);
        if (end == eq + 1 || *end != '\0') {
            return fail("not an address", arg);
        }
        mark_addr[m] = (uint64_t)v & ~(uint64_t)1;  // Thumb: ignore the interworking bit
        mark_set[m] = 1;
    }
    if (!mark_set[MARK_BEGIN] || !mark_set[MARK_END]) {
        return fail("begin= and end= are required", NULL);
    }
    if (out_path != NULL) {
        out = fopen(out_path, "w");
        if (out == NULL) {
            return fail("cannot open the out file", out_path);
        }
    } else {
        out = stderr;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
    return 0;
}
