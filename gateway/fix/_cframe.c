/*
 * gateway.fix._cframe: FIX framing in C (built by `make native`): the inbound
 * framer's common case, and the outbound encoder.
 *
 * Why: framing + splitting a NewOrderSingle in compiled Python makes ~50 CPython
 * objects and costs ~6 us, a sixth of the gateway's CPU per order. This module does
 * the same work in one pass over the bytes and makes only the objects the caller
 * keeps: one bytes per value, their list, the tag tuple, the tag index (no
 * (tag, value) tuple per field: FixMessage.fields makes those only if asked).
 *
 * Contract (tests/gateway/test_cframe.py checks it differentially against the
 * Python framer in gateway/fix/codec.py, which stays the reference):
 *   frame(buf, pos, max_body_length, data_tags) returns None unless the bytes at
 *   `pos` are one complete, well-framed message without any length-prefixed DATA
 *   field; then it returns what FrameReader._next would have produced, its fields
 *   unzipped: (values, raw, index, tags, msg_end). On None the caller runs the
 *   Python framer, so
 *   every garbled, partial or unusual input keeps the reference behaviour.
 *
 *   encode(...) returns FixEncoder.encode's message, byte for byte.
 *
 * Safety: `buf` is only read before the first call that could run Python code;
 * fields are split from `raw`, an immutable copy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define SOH 0x01
#define MAX_HEADER_SCAN 64 /* codec._MAX_HEADER_SCAN */
#define MAX_DIGITS 640     /* codec._MAX_DIGITS */
#define MAX_FAST_TAG_DIGITS 18

static int all_digits(const char *p, Py_ssize_t n) {
    if (n <= 0) return 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9') return 0;
    }
    return 1;
}

static Py_ssize_t find_soh(const char *s, Py_ssize_t from, Py_ssize_t to) {
    if (from >= to) return -1;
    const char *hit = memchr(s + from, SOH, (size_t)(to - from));
    return hit == NULL ? -1 : (Py_ssize_t)(hit - s);
}

/* A tag number as codec._parse_tag reads it: 0 unless a positive integer without a
 * leading zero and at most MAX_DIGITS long, or the negative of one ("-1" is -1).
 * New reference, or NULL on error. */
static PyObject *tag_number(const char *p, Py_ssize_t n) {
    const char *d = p;
    Py_ssize_t nd = n;
    if (n > 0 && p[0] == '-') {
        d = p + 1;
        nd = n - 1;
    }
    if (!all_digits(d, nd) || d[0] == '0' || nd > MAX_DIGITS) return PyLong_FromLong(0);
    if (nd <= MAX_FAST_TAG_DIGITS) {
        long long v = 0;
        for (Py_ssize_t k = 0; k < nd; k++) v = v * 10 + (d[k] - '0');
        return PyLong_FromLongLong(d == p ? v : -v);
    }
    PyObject *text = PyUnicode_FromStringAndSize(p, n);
    if (text == NULL) return NULL;
    PyObject *v = PyLong_FromUnicodeObject(text, 10);
    Py_DECREF(text);
    return v;
}

/* Split `raw` into its values and tags in order and the first-occurrence index, as
 * codec.parse_fields (its pairs, unzipped), FixMessage._idx and FixMessage.tags do.
 * `values` and `tags` have one slot per SOH in `raw` (a field ends at each). Returns 1
 * on success, 0 when a DATA length tag is present (the caller falls back), -1 on
 * error. No (tag, value) tuple is made: FixMessage.fields pairs them on demand. */
static int split_fields(PyObject *raw, PyObject *data_tags, PyObject *values, PyObject *index,
                        PyObject *tags) {
    const char *s = PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    Py_ssize_t a = 0;
    Py_ssize_t k = 0;
    while (a < n) {
        Py_ssize_t b = find_soh(s, a, n); /* raw ends with SOH: always found */
        if (b < 0) b = n;
        const char *eq = memchr(s + a, '=', (size_t)(b - a));
        PyObject *tag;
        PyObject *value;
        if (eq == NULL) {
            tag = PyLong_FromLong(0);
            value = PyBytes_FromStringAndSize("", 0);
        } else {
            Py_ssize_t e = (Py_ssize_t)(eq - s);
            tag = tag_number(s + a, e - a);
            if (tag == NULL) return -1;
            int is_length_tag = PyDict_CheckExact(data_tags) ? PyDict_Contains(data_tags, tag)
                                                              : PySequence_Contains(data_tags, tag);
            if (is_length_tag != 0) {
                Py_DECREF(tag);
                return is_length_tag < 0 ? -1 : 0;
            }
            value = PyBytes_FromStringAndSize(s + e + 1, b - e - 1);
        }
        if (tag == NULL || value == NULL) {
            Py_XDECREF(tag);
            Py_XDECREF(value);
            return -1;
        }
        if (PyDict_SetDefault(index, tag, value) == NULL) {
            Py_DECREF(value);
            Py_DECREF(tag);
            return -1;
        }
        PyList_SET_ITEM(values, k, value); /* both steal the reference */
        PyTuple_SET_ITEM(tags, k, tag);
        k++;
        a = b + 1;
    }
    return 1;
}

static PyObject *frame(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "frame(buf, pos, max_body_length, data_tags)");
        return NULL;
    }
    if (!PyByteArray_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "frame: buf must be a bytearray");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred()) return NULL;
    long long max_body = PyLong_AsLongLong(args[2]);
    if (max_body == -1 && PyErr_Occurred()) return NULL;

    const char *buf = PyByteArray_AS_STRING(args[0]);
    Py_ssize_t n = PyByteArray_GET_SIZE(args[0]);
    if (pos < 0 || n - pos < 2 || buf[pos] != '8' || buf[pos + 1] != '=') Py_RETURN_NONE;
    Py_ssize_t start = pos;
    Py_ssize_t scan_end = start + MAX_HEADER_SCAN < n ? start + MAX_HEADER_SCAN : n;
    Py_ssize_t i = find_soh(buf, start, scan_end);
    if (i < 0 || n < i + 3 || buf[i + 1] != '9' || buf[i + 2] != '=') Py_RETURN_NONE;
    Py_ssize_t j = find_soh(buf, i + 3, i + 15 < n ? i + 15 : n);
    if (j < 0 || !all_digits(buf + i + 3, j - (i + 3))) Py_RETURN_NONE;
    long long body_len = 0; /* at most 12 digits: no overflow */
    for (Py_ssize_t k = i + 3; k < j; k++) body_len = body_len * 10 + (buf[k] - '0');
    if (body_len > max_body) Py_RETURN_NONE;
    Py_ssize_t body_start = j + 1;
    Py_ssize_t body_end = body_start + (Py_ssize_t)body_len;
    Py_ssize_t msg_end = body_end + 7;
    if (n < msg_end) Py_RETURN_NONE;
    if (memcmp(buf + body_end, "10=", 3) != 0 || buf[msg_end - 1] != SOH) Py_RETURN_NONE;
    const char *cs = buf + body_end + 3;
    if (!all_digits(cs, 3)) Py_RETURN_NONE;
    unsigned int sum = 0;
    for (Py_ssize_t k = start; k < body_end; k++) sum += (unsigned char)buf[k];
    if ((unsigned int)((cs[0] - '0') * 100 + (cs[1] - '0') * 10 + (cs[2] - '0')) != (sum & 0xFF))
        Py_RETURN_NONE;
    if (msg_end - body_start < 3 || memcmp(buf + body_start, "35=", 3) != 0) Py_RETURN_NONE;

    /* From here on Python code may run (data_tags' __contains__): use the copy. */
    PyObject *raw = PyBytes_FromStringAndSize(buf + start, msg_end - start);
    if (raw == NULL) return NULL;
    Py_ssize_t nfields = 0;
    const char *text = PyBytes_AS_STRING(raw);
    for (Py_ssize_t k = 0; k < msg_end - start; k++) nfields += text[k] == SOH;
    PyObject *values = PyList_New(nfields);
    PyObject *index = PyDict_New();
    PyObject *tags = PyTuple_New(nfields);
    PyObject *end = NULL;
    PyObject *result = NULL;
    if (values == NULL || index == NULL || tags == NULL) goto done;
    int split = split_fields(raw, args[3], values, index, tags);
    if (split < 0) goto done;
    if (split == 0) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    end = PyLong_FromSsize_t(msg_end);
    if (end != NULL) result = PyTuple_Pack(5, values, raw, index, tags, end);
done:
    Py_DECREF(raw);
    Py_XDECREF(values);
    Py_XDECREF(index);
    Py_XDECREF(tags);
    Py_XDECREF(end);
    return result;
}

/* encode(begin, comp, msg_type, seq, sending_time, extra, body): FixEncoder.encode's
 * bytes in one allocation. begin is "8=<BeginString>\x019=", comp
 * "\x0149=<Sender>\x0156=<Target>\x0134=" (FixEncoder precomputes both). */
static PyObject *encode(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "encode(begin, comp, msg_type, seq, sending_time, extra, body)");
        return NULL;
    }
    const int parts[] = {0, 1, 2, 4, 5, 6};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        if (!PyBytes_Check(args[parts[k]])) {
            PyErr_SetString(PyExc_TypeError, "encode: bytes expected");
            return NULL;
        }
    }
    long long seq = PyLong_AsLongLong(args[3]);
    if (seq == -1 && PyErr_Occurred()) return NULL;
    char seq_text[24];
    int seq_len = snprintf(seq_text, sizeof seq_text, "%lld", seq);
    PyObject *begin = args[0], *comp = args[1], *mt = args[2], *st = args[4];
    PyObject *extra = args[5], *body = args[6];
    Py_ssize_t payload = 3 + PyBytes_GET_SIZE(mt) + PyBytes_GET_SIZE(comp) + seq_len + 4 +
                         PyBytes_GET_SIZE(st) + 1 + PyBytes_GET_SIZE(extra) +
                         PyBytes_GET_SIZE(body);
    char len_text[24];
    int len_len = snprintf(len_text, sizeof len_text, "%zd", payload);
    Py_ssize_t head = PyBytes_GET_SIZE(begin) + len_len + 1;
    PyObject *out = PyBytes_FromStringAndSize(NULL, head + payload + 7);
    if (out == NULL) return NULL;
    char *p = PyBytes_AS_STRING(out);
#define PUT(src, n)            \
    do {                       \
        memcpy(p, (src), (n)); \
        p += (n);              \
    } while (0)
#define PUT_BYTES(obj) PUT(PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj))
    PUT_BYTES(begin);
    PUT(len_text, len_len);
    *p++ = SOH;
    PUT("35=", 3);
    PUT_BYTES(mt);
    PUT_BYTES(comp);
    PUT(seq_text, seq_len);
    PUT("\00152=", 4);
    PUT_BYTES(st);
    *p++ = SOH;
    PUT_BYTES(extra);
    PUT_BYTES(body);
#undef PUT_BYTES
#undef PUT
    const char *msg = PyBytes_AS_STRING(out);
    unsigned int sum = 0;
    for (const char *q = msg; q < p; q++) sum += (unsigned char)*q;
    sum &= 0xFF;
    p[0] = '1';
    p[1] = '0';
    p[2] = '=';
    p[3] = (char)('0' + sum / 100);
    p[4] = (char)('0' + sum / 10 % 10);
    p[5] = (char)('0' + sum % 10);
    p[6] = SOH;
    return out;
}

static PyMethodDef methods[] = {
    {"frame", (PyCFunction)(void (*)(void))frame, METH_FASTCALL,
     "frame(buf, pos, max_body_length, data_tags) -> (values, raw, index, tags, end) | None"},
    {"encode", (PyCFunction)(void (*)(void))encode, METH_FASTCALL,
     "encode(begin, comp, msg_type, seq, sending_time, extra, body) -> bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cframe", "FIX framing in C: the inbound common case and the outbound encoder.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cframe(void) { return PyModule_Create(&module); }
