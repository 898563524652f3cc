/* md5: the MD5 digest of a NUL-terminated string (src/md5.c). */
#ifndef BLAST_MD5_H
#define BLAST_MD5_H

/* Writes the digest of s as 32 lowercase hex digits and a NUL into out. */
void md5_hex(const char *s, char out[33]);

#endif
