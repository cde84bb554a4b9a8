// Shipped migrations are never edited: add a new numbered file instead.
// Clean Pixel Data, per pushed instance: where the masks are, as JSON [[frame, x, y, width,
// height], ...] in image pixels (never the text), for the review pages to outline them.
export default `
ALTER TABLE instances ADD COLUMN masked_boxes TEXT;
`;
