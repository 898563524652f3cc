/* fuzz_chunked: libFuzzer target for the chunked-body decoder of src/http1.c (chunk sizes,
 * extensions, chunk data framing, trailers), which is part of the response parser.
 *
 * Input: byte 0 picks the split point and seeds the random piece sizes; the rest is what
 * follows a fixed head "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", so every
 * mutation lands in the chunked states instead of breaking the status line. Bytes after the
 * chunked body are parsed as further responses, as a connection would. Same feeding modes and
 * invariants as fuzz_http1 (http1_driver.h); the split point falls after the fixed head. */
#include "http1_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return -1;
    size_t hlen = sizeof head - 1, len = hlen + size - 1;
    uint8_t *stream = malloc(len);
    if (!stream)
        abort();
    memcpy(stream, head, hlen);
    memcpy(stream + hlen, data + 1, size - 1);
    drv_all(stream, len, false, hlen, data[0], (uint32_t)data[0] * 0x01000193u);
    free(stream);
    return 0;
}
