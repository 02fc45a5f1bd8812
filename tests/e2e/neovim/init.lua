-- Minimal config for the end-to-end test: the repository's own Neovim integration and
-- nothing else. run.sh puts the server under test on PATH as `alembic-lsp`.
local repo = assert(os.getenv('ALEMBIC_E2E_REPO'), 'ALEMBIC_E2E_REPO is not set')

vim.opt.runtimepath:prepend(repo .. '/editors/neovim')
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'

vim.lsp.enable('alembic_lsp')
