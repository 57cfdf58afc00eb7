// summary-reporter.mjs - a node:test reporter that prints only the run's
// summary as TAP comments (`# tests N`, `# pass N`, `# fail N`, ...), once, at
// the end. Used beside the spec reporter so ctest logs carry both readable
// results and greppable totals:
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//        --test-reporter=./tests/e2e/lib/summary-reporter.mjs --test-reporter-destination=stdout FILE
export default async function* summaryReporter(source) {
    const lines = [];
    for await (const event of source) {
        if (event.type === 'test:diagnostic' && event.data.nesting === 0)
            lines.push(`# ${event.data.message}\n`);
    }
    yield lines.join('');
}
