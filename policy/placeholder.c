/* placeholder */
int policy__placeholder(void);
int policy__placeholder(void) { return 0; }
