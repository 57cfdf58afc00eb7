// demo-setup.mjs - prepares Azurite for the demo: creates the container (if
// missing) with the account's shared key. Used by scripts/run-demo.sh.
//
//   node scripts/demo-setup.mjs ACCOUNT_URL CONTAINER
//
// ACCOUNT_URL is path style, e.g. http://127.0.0.1:10000/devstoreaccount1.
// The key is Azurite's well-known development key, or $SASGW_DEMO_ACCOUNT_KEY.
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

const [accountUrl, container] = process.argv.slice(2);
if (!accountUrl || !container) {
    console.error('usage: node scripts/demo-setup.mjs ACCOUNT_URL CONTAINER');
    process.exit(2);
}
const account = new URL(accountUrl).pathname.split('/')[1];
const key = process.env.SASGW_DEMO_ACCOUNT_KEY
    ?? 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const service = new BlobServiceClient(accountUrl, new StorageSharedKeyCredential(account, key),
    { retryOptions: { maxTries: 2 } });
try {
    const { succeeded } = await service.getContainerClient(container).createIfNotExists();
    console.log(`container ${container}: ${succeeded ? 'created' : 'already there'}`);
} catch (err) {
    console.error(`cannot create container ${container} at ${accountUrl}: ${err.statusCode ?? ''} ${err.message}`);
    process.exit(1);
}
