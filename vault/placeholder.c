/* placeholder */
int vault__placeholder(void);
int vault__placeholder(void) { return 0; }
