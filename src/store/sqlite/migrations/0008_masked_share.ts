// Shipped migrations are never edited: add a new numbered file instead.
// Clean Pixel Data: per pushed instance, the largest share of one frame that text masks cover
// (0-1), the figure the kept-pixels check bounds; empty for instances whose pixels went unchanged.
export default `
ALTER TABLE instances ADD COLUMN masked_share REAL;
`;
