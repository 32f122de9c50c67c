export const PAGE_HTML = '<!doctype html><title>midge</title>';
