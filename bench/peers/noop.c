/* The exec storm's target for bench_storm.py: a static x86_64 binary that
 * exits at once (exec cost without ld.so). Built with -static -nostdlib. */
void _start(void)
{
	__asm__ volatile("mov $60, %eax; xor %edi, %edi; syscall");
}
